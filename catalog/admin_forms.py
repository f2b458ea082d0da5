"""Admin forms for the catalog: typed attribute fields built from the product type, the changelist
action form (channel, category), and variant option editing validated by the catalog services."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, ClassVar, cast

from django import forms
from django.conf import settings
from django.contrib.admin.helpers import ActionForm
from django.forms.models import BaseInlineFormSet

from catalog.attributes import attribute_values_clean, type_attributes
from catalog.exceptions import AttributeValuesInvalid
from catalog.locales import OTHER_LANGUAGES
from catalog.models import Attribute, Price, Product, ProductType, ProductTypeAttribute, Variant
from core.models import Channel

ATTRIBUTE_PREFIX = "attr__"


def attribute_form_field(attribute: Attribute, *, required: bool = False) -> forms.Field:
    label = f"{attribute.name} ({attribute.unit})" if attribute.unit else attribute.name
    options = [(option.code, option.label) for option in attribute.options.all()]
    common: dict[str, Any] = {"label": label, "required": required}
    kind = attribute.kind
    if kind == Attribute.Kind.RICH_TEXT:
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), **common)
    if kind == Attribute.Kind.NUMBER:
        return forms.DecimalField(**common)
    if kind == Attribute.Kind.BOOLEAN:
        return forms.NullBooleanField(label=label, required=False)
    if kind == Attribute.Kind.DATE:
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if kind == Attribute.Kind.SELECT:
        return forms.ChoiceField(choices=[("", "---------"), *options], **common)
    if kind == Attribute.Kind.MULTI_SELECT:
        return forms.MultipleChoiceField(
            choices=options, widget=forms.CheckboxSelectMultiple, **common
        )
    return forms.CharField(max_length=500, **common)


def _stored_to_initial(value: Any) -> Any:
    if isinstance(value, dict) and "value" in value:
        return value["value"]
    return value


class BrandInput(forms.TextInput):
    """A text input that suggests the brands already in the catalog (an HTML datalist), so a
    merchandiser picks "Harbor & Pine" instead of typing a fourth spelling of it."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> Any:
        from django.utils.html import format_html, format_html_join

        list_id = f"{name}-suggestions"
        attrs = {**(attrs or {}), "list": list_id, "autocomplete": "off"}
        brands = (
            Product.objects.exclude(brand="")
            .order_by("brand")
            .values_list("brand", flat=True)
            .distinct()[:500]
        )
        options = format_html_join("", '<option value="{}">', ((brand,) for brand in brands))
        return format_html(
            '{}<datalist id="{}">{}</datalist>',
            super().render(name, value, attrs, renderer),
            list_id,
            options,
        )


class ProductAdminForm(forms.ModelForm):
    """The product form, with one typed field per product-level attribute of its product type."""

    class Meta:
        model = Product
        fields = [
            "name",
            "handle",
            "brand",
            "category",
            "product_type",
            "description",
        ]
        widgets = {"brand": BrandInput}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        product_type = self.instance.product_type if self.instance.pk else None
        self.attribute_codes: list[str] = []
        if product_type is None:
            return
        for type_attribute in (
            ProductTypeAttribute.objects.filter(product_type=product_type, level="product")
            .select_related("attribute")
            .prefetch_related("attribute__options")
        ):
            attribute = type_attribute.attribute
            name = f"{ATTRIBUTE_PREFIX}{attribute.code}"
            self.fields[name] = attribute_form_field(attribute)
            self.fields[name].initial = _stored_to_initial(
                self.instance.attributes.get(attribute.code)
            )
            self.attribute_codes.append(attribute.code)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        product_type: ProductType | None = cleaned.get("product_type")
        if self.instance.pk and product_type != self.instance.product_type:
            # attribute fields belong to the old type: they are offered again after saving
            self.cleaned_attributes = {}
            return cleaned
        values = {
            code: cleaned.get(f"{ATTRIBUTE_PREFIX}{code}")
            for code in self.attribute_codes
            if cleaned.get(f"{ATTRIBUTE_PREFIX}{code}") not in (None, "", [])
        }
        for code, value in list(values.items()):
            if isinstance(value, (dt.date, dt.datetime)):
                values[code] = value.isoformat()
            elif not isinstance(value, (str, bool, list)):
                values[code] = str(value)
        try:
            self.cleaned_attributes = attribute_values_clean(
                product_type=product_type, level="product", values=values
            )
        except AttributeValuesInvalid as invalid:
            for error in invalid.errors:
                code = error["field"].split(".", 1)[1]
                self.add_error(f"{ATTRIBUTE_PREFIX}{code}", error["message"])
        return cleaned


# --- variant options: one field per axis of the product type ---------------------------------

OPTION_PREFIX = "option__"


def variant_axes(product_type: ProductType | None) -> list[Attribute]:
    """The product type's variant axes, in the type's order, with their options prefetched."""
    return [ta.attribute for ta in type_attributes(product_type, "variant") if ta.is_variant_axis]


def axis_form_field(attribute: Attribute) -> forms.Field:
    """A select of the axis's options (other kinds: the attribute's typed field). A value the
    axis does not know is refused naming the axis and the value."""
    if attribute.kind != Attribute.Kind.SELECT:
        return attribute_form_field(attribute)
    options = [(option.code, option.label) for option in attribute.options.all()]
    known = ", ".join(code for code, _ in options) or "none yet"
    name = attribute.name.replace("%", "%%")
    return forms.ChoiceField(
        choices=[("", "---------"), *options],
        required=False,
        label=attribute.name,
        error_messages={
            "invalid_choice": f"{name}: “%(value)s” is not an option of this axis "
            f"(options: {known.replace('%', '%%')})."
        },
    )


def _option_value(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if value is None or isinstance(value, (str, bool, list)):
        return value
    return str(value)


class VariantOptionsForm(forms.ModelForm):
    """A variant form whose options are one field per variant axis of the product's type
    (``option__<code>``), never raw JSON. ``variant_form_class`` declares the fields per type;
    ``clean`` puts the assembled, validated options in ``cleaned_data["options"]``."""

    axis_codes: ClassVar[list[str]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "cost_price" in self.fields:
            self.fields["cost_price"].label = f"Cost price ({settings.BASE_CURRENCY})"
        stored = self.instance.options or {}
        for code in self.axis_codes:
            self.fields[f"{OPTION_PREFIX}{code}"].initial = _stored_to_initial(stored.get(code))

    def _product(self) -> Product | None:
        return self.instance.product if self.instance.product_id else None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        product = self._product()
        if product is None or product.product_type_id is None or not self.axis_codes:
            # no axes to choose from: the options stay as they are
            cleaned["options"] = dict(self.instance.options or {})
            return cleaned
        options = {
            code: _option_value(cleaned.get(f"{OPTION_PREFIX}{code}"))
            for code in self.axis_codes
            if cleaned.get(f"{OPTION_PREFIX}{code}") not in (None, "", [])
        }
        if any(f"{OPTION_PREFIX}{code}" in self.errors for code in self.axis_codes):
            return cleaned
        attributes = cleaned.get("attributes", self.instance.attributes) or {}
        from catalog.services import variant_values_clean

        try:
            cleaned["options"], _ = variant_values_clean(
                product=product, options=options, attributes=attributes
            )
        except AttributeValuesInvalid as invalid:
            for error in invalid.errors:
                where, _, code = error["field"].partition(".")
                field = f"{OPTION_PREFIX}{code}" if where == "options" else where
                self.add_error(field if field in self.fields else None, error["message"])
            return cleaned
        self.instance.options = cleaned["options"]
        return cleaned


class VariantInlineForm(VariantOptionsForm):
    """A variant row on the product page."""

    class Meta:
        model = Variant
        fields = ["sku", "gtin", "weight_grams", "cost_price", "position"]


class VariantAdminForm(VariantOptionsForm):
    """The variant's own page."""

    class Meta:
        model = Variant
        fields = ["sku", "gtin", "attributes", "weight_grams", "cost_price", "position"]


def variant_form_class(
    base: type[VariantOptionsForm], product_type: ProductType | None
) -> type[VariantOptionsForm]:
    """``base`` with one declared field per variant axis of ``product_type`` (declared, so the
    admin's form factories accept the names in ``fields``)."""
    axes = variant_axes(product_type)
    attrs: dict[str, Any] = {
        f"{OPTION_PREFIX}{attribute.code}": axis_form_field(attribute) for attribute in axes
    }
    attrs["axis_codes"] = [attribute.code for attribute in axes]
    attrs["__module__"] = base.__module__
    return type(base.__name__, (base,), attrs)


class VariantInlineFormSet(BaseInlineFormSet):  # type: ignore[type-arg]
    """The product page's variant rows: two rows may not carry the same options (the database
    would refuse the second halfway through saving)."""

    def clean(self) -> None:
        super().clean()
        seen: dict[str, str] = {}
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE") or form.errors or not data.get("sku"):
                continue
            key = json.dumps(data.get("options") or {}, sort_keys=True)
            if key in seen:
                form.add_error(
                    None,
                    f"{data['sku']} has the same options as {seen[key]}: "
                    "each variant needs its own combination of axis values.",
                )
            else:
                seen[key] = data["sku"]


class CatalogActionForm(ActionForm):
    """The changelist's action bar: which channel to publish to, which category to set."""

    channel = forms.ChoiceField(required=False, label="Channel")
    category = forms.CharField(
        required=False,
        label="Category",
        help_text="Google id or full name",
        widget=forms.TextInput(
            attrs={"placeholder": "Category: Google id or full name", "size": 28}
        ),
    )

    language = forms.ChoiceField(
        required=False,
        label="Language",
        help_text="Exports: add this language's name and description columns",
        choices=[("", "Language…")] + [(code, code) for code in OTHER_LANGUAGES],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        channels = Channel.objects.filter(is_active=True).order_by("code")
        cast(forms.ChoiceField, self.fields["channel"]).choices = [("", "Channel…")] + [
            (code, code) for code in channels.values_list("code", flat=True)
        ]


class ImportUploadForm(forms.Form):
    format = forms.ChoiceField(
        choices=[
            ("shopify", "Shopify product CSV"),
            ("native", "OmniHub products and variants (CSV or XLSX, as exported here)"),
        ]
    )
    file = forms.FileField()
    price_channel = forms.ChoiceField(required=False, label="Channel for the prices")
    stock_location = forms.CharField(
        required=False,
        label="Location for the inventory quantities (code; default: main warehouse)",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from catalog.imports.services import default_price_channel

        codes = list(Channel.objects.order_by("code").values_list("code", flat=True))
        cast(forms.ChoiceField, self.fields["price_channel"]).choices = [
            (code, code) for code in codes
        ]
        self.fields["price_channel"].initial = default_price_channel()


class PriceInlineForm(forms.ModelForm):
    """A channel price; the currency defaults to the channel's."""

    class Meta:
        model = Price
        fields = ["channel", "currency", "amount", "compare_at_amount", "starts_at", "ends_at"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["currency"].required = False
        self.fields["currency"].help_text = "Empty: the channel's currency."

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        channel = cleaned.get("channel")
        if not cleaned.get("currency") and channel is not None:
            cleaned["currency"] = channel.currency
            self.instance.currency = channel.currency
        return cleaned
