"""A variant's cost price (in the base currency, ``settings.BASE_CURRENCY``): unknown by default,
never negative, edited on the product page and carried by the native catalog file (an optional
``cost_price`` column). Given/when/then; refusals are checked to have written nothing."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from catalog import services
from catalog.exceptions import AttributeValuesInvalid, ImportFileInvalid
from catalog.models import Product, Variant
from catalog.resources import NATIVE_COLUMNS, catalog_native_export, catalog_native_import
from tests.catalog.factories import complete_product

pytestmark = pytest.mark.django_db


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def _csv(rows: list[dict[str, str]], columns: tuple[str, ...] = NATIVE_COLUMNS) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns))
    writer.writeheader()
    for row in rows:
        writer.writerow({column: row.get(column, "") for column in columns})
    return out.getvalue().encode("utf-8")


def _costs() -> dict[str, Decimal | None]:
    return dict(Variant.objects.order_by("sku").values_list("sku", "cost_price"))


# --- the model ------------------------------------------------------------------------------------


def test_a_new_variant_has_no_cost_and_a_negative_cost_is_refused_by_the_database(
    webshop: Any,
) -> None:
    product = complete_product(webshop)
    variant = product.variants.order_by("position").first()
    assert variant is not None and variant.cost_price is None
    with pytest.raises(IntegrityError), transaction.atomic():
        Variant.objects.filter(pk=variant.pk).update(cost_price=Decimal("-0.01"))
    variant.refresh_from_db()
    assert variant.cost_price is None


def test_the_variant_service_refuses_a_negative_cost(webshop: Any) -> None:
    product = complete_product(webshop)
    variant = product.variants.get(sku="ORGANIC-TEE-S")
    with pytest.raises(AttributeValuesInvalid) as refused:
        services.variant_save(
            product=product,
            variant=variant,
            sku=variant.sku,
            options=variant.options,
            cost_price=Decimal("-1"),
        )
    assert [e["field"] for e in refused.value.errors] == ["cost_price"]
    assert Variant.objects.get(pk=variant.pk).cost_price is None


# --- the admin ------------------------------------------------------------------------------------


def _variant_form(product: Product, **cost_by_sku: str) -> dict[str, Any]:
    variants = list(product.variants.order_by("position", "id"))
    form: dict[str, Any] = {
        "name": product.name,
        "handle": product.handle,
        "brand": product.brand,
        "description": product.description,
        "category": product.category_id,
        "product_type": product.product_type_id,
        "attr__material": "Cotton",
        "variants-TOTAL_FORMS": len(variants),
        "variants-INITIAL_FORMS": len(variants),
        "channel_content-TOTAL_FORMS": 0,
        "channel_content-INITIAL_FORMS": 0,
        "media-TOTAL_FORMS": 0,
        "media-INITIAL_FORMS": 0,
    }
    for i, variant in enumerate(variants):
        form.update(
            {
                f"variants-{i}-id": variant.pk,
                f"variants-{i}-product": product.pk,
                f"variants-{i}-sku": variant.sku,
                f"variants-{i}-gtin": variant.gtin,
                f"variants-{i}-option__size": variant.options.get("size", ""),
                f"variants-{i}-option__color": variant.options.get("color", ""),
                f"variants-{i}-weight_grams": "",
                f"variants-{i}-position": variant.position,
                f"variants-{i}-cost_price": cost_by_sku.get(variant.sku, ""),
            }
        )
    return form


def test_the_product_page_shows_and_edits_the_cost_and_refuses_a_negative_one(
    webshop: Any, merchandiser: User
) -> None:
    # given a product with two variants and no costs
    product = complete_product(webshop)
    client = Client()
    client.force_login(merchandiser)
    change = reverse("admin:catalog_product_change", args=[product.pk])
    page = client.get(change).content.decode()
    assert 'name="variants-0-cost_price"' in page and "Cost price (EUR)" in page
    # when a negative cost is posted, then the page names the problem and nothing changes
    bad = client.post(change, _variant_form(product, **{"ORGANIC-TEE-S": "-2.00"}))
    assert bad.status_code == 200
    assert "Ensure this value is greater than or equal to 0" in bad.content.decode()
    assert _costs() == {"ORGANIC-TEE-M": None, "ORGANIC-TEE-S": None}
    # when a cost is set on S, then S has it and M stays unknown
    good = client.post(change, _variant_form(product, **{"ORGANIC-TEE-S": "7.25"}))
    assert good.status_code == 302, good.content.decode()[:2000]
    assert _costs() == {"ORGANIC-TEE-M": None, "ORGANIC-TEE-S": Decimal("7.25")}


def test_a_cost_edited_alone_on_the_product_page_keeps_an_approved_product_approved(
    webshop: Any, merchandiser: User
) -> None:
    # given an approved product
    product = complete_product(webshop)
    Product.objects.filter(pk=product.pk).update(status=Product.Status.APPROVED)
    client = Client()
    client.force_login(merchandiser)
    change = reverse("admin:catalog_product_change", args=[product.pk])
    # when only a variant's cost is changed on its page
    saved = client.post(change, _variant_form(product, **{"ORGANIC-TEE-S": "3.10"}))
    # then the cost is set, and the product stays approved: customers never see a cost
    assert saved.status_code == 302, saved.content.decode()[:2000]
    assert _costs()["ORGANIC-TEE-S"] == Decimal("3.10")
    product.refresh_from_db()
    assert product.status == Product.Status.APPROVED
    # while a customer-visible change on the same page still sends it back to review
    form = _variant_form(product, **{"ORGANIC-TEE-S": "3.10"})
    form["variants-0-weight_grams"] = "250"
    assert client.post(change, form).status_code == 302
    product.refresh_from_db()
    assert product.status == Product.Status.IN_REVIEW


def test_the_variant_list_shows_the_cost(webshop: Any, admin_client: Client) -> None:
    product = complete_product(webshop)
    Variant.objects.filter(product=product, sku="ORGANIC-TEE-S").update(cost_price=Decimal("6.40"))
    page = admin_client.get(reverse("admin:catalog_variant_changelist")).content.decode()
    assert "column-cost_price" in page and "6.40" in page


# --- the native file ------------------------------------------------------------------------------


def test_the_cost_round_trips_through_the_native_file(webshop: Any) -> None:
    # given a variant with a cost and one without
    product = complete_product(webshop)
    Variant.objects.filter(product=product, sku="ORGANIC-TEE-S").update(cost_price=Decimal("6.4"))
    exported = catalog_native_export(fmt="csv")
    rows = _rows(exported)
    assert [(r["sku"], r["cost_price"]) for r in rows] == [
        ("ORGANIC-TEE-S", "6.40"),
        ("ORGANIC-TEE-M", ""),
    ]
    # when the costs are changed and the file is imported
    rows[0]["cost_price"] = "5.10"
    rows[1]["cost_price"] = "3"
    summary = catalog_native_import(file_bytes=_csv(rows), fmt="csv")
    # then both costs are written, the product does not go back to review for a cost alone
    assert _costs() == {"ORGANIC-TEE-M": Decimal("3.00"), "ORGANIC-TEE-S": Decimal("5.10")}
    assert summary["variants_updated"] == 2
    # and importing the same file again changes nothing
    again = catalog_native_import(file_bytes=_csv(rows), fmt="csv")
    assert again["variants_unchanged"] == 2


def test_a_cost_change_alone_keeps_an_approved_product_approved(webshop: Any) -> None:
    product = complete_product(webshop)
    Product.objects.filter(pk=product.pk).update(status=Product.Status.APPROVED)
    rows = _rows(catalog_native_export(fmt="csv"))
    rows[0]["cost_price"] = "4.00"
    catalog_native_import(file_bytes=_csv(rows), fmt="csv")
    product.refresh_from_db()
    assert product.status == Product.Status.APPROVED
    assert Variant.objects.get(sku="ORGANIC-TEE-S").cost_price == Decimal("4.00")


def test_an_emptied_cost_cell_makes_the_cost_unknown_again(webshop: Any) -> None:
    product = complete_product(webshop)
    Variant.objects.filter(product=product).update(cost_price=Decimal("2.00"))
    rows = _rows(catalog_native_export(fmt="csv"))
    rows[1]["cost_price"] = ""
    catalog_native_import(file_bytes=_csv(rows), fmt="csv")
    assert _costs() == {"ORGANIC-TEE-M": None, "ORGANIC-TEE-S": Decimal("2.00")}


def test_a_file_without_the_cost_column_leaves_the_costs_alone(webshop: Any) -> None:
    product = complete_product(webshop)
    Variant.objects.filter(product=product).update(cost_price=Decimal("2.00"))
    older = tuple(c for c in NATIVE_COLUMNS if c != "cost_price")
    rows = _rows(catalog_native_export(fmt="csv"))
    rows[0]["weight_grams"] = "180"
    summary = catalog_native_import(file_bytes=_csv(rows, older), fmt="csv")
    assert summary["variants_updated"] == 1
    assert _costs() == {"ORGANIC-TEE-M": Decimal("2.00"), "ORGANIC-TEE-S": Decimal("2.00")}
    assert Variant.objects.get(sku="ORGANIC-TEE-S").weight_grams == 180


@pytest.mark.parametrize(
    "value",
    ["cheap", "-1.00", "1.234", "12345678901.00", "NaN", "Infinity", "1e3", " 1,50"],
)
def test_a_bad_cost_is_refused_naming_row_and_column_and_nothing_is_written(
    webshop: Any, value: str
) -> None:
    product = complete_product(webshop)
    rows = _rows(catalog_native_export(fmt="csv"))
    rows[0]["cost_price"] = "9.99"  # a good cell on row 2 is not written either
    rows[1]["cost_price"] = value  # row 3
    with pytest.raises(ImportFileInvalid) as refused:
        catalog_native_import(file_bytes=_csv(rows), fmt="csv")
    assert refused.value.code == "import_file_invalid"
    assert refused.value.errors == [
        {
            "row": 3,
            "column": "cost_price",
            "message": "Enter an amount of 0 or more with at most 2 decimals, such as 12.50.",
        }
    ]
    assert _costs() == {"ORGANIC-TEE-M": None, "ORGANIC-TEE-S": None}
    assert product.variants.count() == 2
