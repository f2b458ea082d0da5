"""The side-by-side translation editor of a product (``<product>/translations/?language=nl``):
English on the left, the chosen language on the right, for every translated text of the product
(name, description) and of its channel content (title, description per channel).

Saving calls ``catalog.services.product_translation_save``, the one write of translated texts:
like any content edit it puts an approved product back in review, so a translation reaches the
channels only with the next approval. A refusal shows every bad field and writes nothing."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from catalog import services
from catalog.exceptions import AttributeValuesInvalid, NotAllowed
from catalog.locales import DEFAULT_LANGUAGE, OTHER_LANGUAGES, translation_column
from catalog.models import ChannelContent, Product

LANGUAGE_NAMES = {"en": "English", "nl": "Dutch", "de": "German", "fr": "French"}


def _language_name(code: str) -> str:
    from django.conf import settings

    return str(dict(settings.LANGUAGES).get(code, LANGUAGE_NAMES.get(code, code)))


class ProductTranslationsMixin:
    """Adds ``<product>/translations/`` to the product admin."""

    admin_site: Any

    def get_urls(self) -> list[Any]:
        urls = [
            path(
                "<path:object_id>/translations/",
                self.admin_site.admin_view(self.translations_view),
                name="catalog_product_translations",
            ),
        ]
        return [*urls, *super().get_urls()]  # type: ignore[misc]

    def translations_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not str(object_id).isdigit():
            raise Http404
        product: Product = get_object_or_404(Product, pk=object_id)
        if not self.has_view_or_change_permission(request, product):  # type: ignore[attr-defined]
            raise PermissionDenied
        language = request.GET.get("language") or OTHER_LANGUAGES[0]
        if language not in OTHER_LANGUAGES:
            raise Http404(f"{language!r} is not a language content is translated into.")
        contents = list(
            ChannelContent.objects.filter(product=product)
            .select_related("channel")
            .order_by("channel__code")
        )
        rows = _rows(product, contents, language)
        errors: dict[str, str] = {}
        can_change = self.has_change_permission(request, product)  # type: ignore[attr-defined]
        if request.method == "POST":
            if not can_change:
                raise PermissionDenied
            values = {
                name: request.POST.get(f"product.{name}", "")
                for name in services.TRANSLATED_PRODUCT_FIELDS
            }
            channel_content = {
                content.channel.code: {
                    name: request.POST.get(f"channel_content.{content.channel.code}.{name}", "")
                    for name in services.TRANSLATED_CONTENT_FIELDS
                }
                for content in contents
            }
            try:
                changed = services.product_translation_save(
                    product=product,
                    language=language,
                    values=values,
                    channel_content=channel_content,
                    user=request.user,  # type: ignore[arg-type]
                )
            except NotAllowed as exc:
                raise PermissionDenied(exc.message) from exc
            except AttributeValuesInvalid as exc:
                errors = {e["field"]: e["message"] for e in exc.errors}
                for row in rows:
                    row["value"] = request.POST.get(row["key"], "")
                messages.error(request, f"Nothing was saved: {exc.message}")
            else:
                if changed:
                    messages.success(
                        request,
                        f"{_language_name(language)} texts saved; the product goes through "
                        "review before channels show them.",
                    )
                else:
                    messages.info(request, "Nothing changed.")
                url = reverse("admin:catalog_product_translations", args=[product.pk])
                return HttpResponseRedirect(f"{url}?language={language}")
        for row in rows:
            row["error"] = errors.get(row["field"], "")
        context = {
            **self.admin_site.each_context(request),
            "title": f"Translations: {product}",
            "opts": Product._meta,
            "original": product,
            "product": product,
            "product_url": reverse("admin:catalog_product_change", args=[product.pk]),
            "language": language,
            "language_name": _language_name(language),
            "source_name": _language_name(DEFAULT_LANGUAGE),
            "languages": [(code, _language_name(code)) for code in OTHER_LANGUAGES],
            "rows": rows,
            "can_change": can_change,
        }
        return TemplateResponse(request, "admin/catalog/product/translations.html", context)


def _rows(product: Product, contents: list[ChannelContent], language: str) -> list[dict[str, Any]]:
    """One row per translated text: its label, the English source, the translation."""
    rows = []
    for name in ("name", "description"):
        rows.append(
            {
                "key": f"product.{name}",
                "field": name,
                "label": name.capitalize(),
                "source": product.__dict__.get(name) or "",
                "value": getattr(product, translation_column(name, language)) or "",
                "multiline": name == "description",
                "max_length": getattr(Product._meta.get_field(name), "max_length", None),
            }
        )
    for content in contents:
        for name in ("title", "description"):
            code = content.channel.code
            rows.append(
                {
                    "key": f"channel_content.{code}.{name}",
                    "field": f"channel_content.{code}.{name}",
                    "label": f"{content.channel.name}: {name}",
                    "source": content.__dict__.get(name) or "",
                    "value": getattr(content, translation_column(name, language)) or "",
                    "multiline": name == "description",
                    "max_length": None,
                }
            )
    return rows


def completeness_by_language(locales: dict[str, Any]) -> str:
    """``ProductCompleteness.locales`` as text: ``en 100% · nl 75%`` (what each language lacks
    is in the channel's ``missing``)."""
    return " · ".join(f"{language} {entry['percent']}%" for language, entry in locales.items())
