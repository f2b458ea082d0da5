"""The product and variant write API for ERPs and PIMs (issue 19, part 4): create and update with
the admin's validation, per-field problem+json errors, If-Match on updates, content edits through
approval, and the cost price. Given/when/then; every refusal is checked to have written nothing."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient

from catalog import services
from catalog.models import Category, Product, Variant
from config import roles
from tests.catalog.factories import apparel_type, category

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/catalog/products/"
GTIN = "4006381333931"  # a valid EAN-13


@pytest.fixture
def tee_type(webshop: Any) -> Any:
    return apparel_type()


@pytest.fixture
def clothing(db: Any) -> Category:
    return category()


def _product_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "handle": "organic-tee",
        "name": "Organic Tee",
        "description": "Soft organic cotton.",
        "brand": "Acme",
        "product_type": "t-shirt",
        "attributes": {"material": "Cotton"},
    }
    body.update(overrides)
    return body


def _variant_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sku": "TEE-S-NAVY",
        "gtin": GTIN,
        "options": {"size": "s", "color": "navy"},
        "weight_grams": 180,
        "cost_price": "4.20",
    }
    body.update(overrides)
    return body


def _approved_tee(tee_type: Any) -> Product:
    """An approved t-shirt with one variant: its snapshot is what the channels show."""
    product = services.product_create(
        handle="organic-tee",
        name="Organic Tee",
        product_type=tee_type,
        attributes={"material": "Cotton"},
    )
    services.variant_save(product=product, sku="TEE-S-NAVY", options={"size": "s", "color": "navy"})
    services.product_submit(product_ids=[product.id])
    services.product_approve(product_ids=[product.id])
    product.refresh_from_db()
    assert product.status == Product.Status.APPROVED
    return product


# --- create -------------------------------------------------------------------------------------


def test_create_a_product_then_a_variant_with_the_admins_rules(
    api_client: APIClient, tee_type: Any, clothing: Category
) -> None:
    # when an ERP creates a product and a variant
    response = api_client.post(
        PRODUCTS, _product_body(category=clothing.pk), format="json", HTTP_IDEMPOTENCY_KEY="p-1"
    )
    # then the product is a draft with cleaned attributes, and Location names it
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["handle"], body["status"], body["category"], body["product_type"]) == (
        "organic-tee",
        "draft",
        clothing.pk,
        "t-shirt",
    )
    assert body["attributes"] == {"material": "Cotton"}
    assert body["variants"] == []
    assert response["Location"].endswith(f"{PRODUCTS}organic-tee/")
    created = api_client.post(f"{PRODUCTS}organic-tee/variants/", _variant_body(), format="json")
    assert created.status_code == 201, created.json()
    variant = created.json()
    assert (variant["sku"], variant["gtin"], variant["options"]) == (
        "TEE-S-NAVY",
        GTIN,
        {"size": "s", "color": "navy"},
    )
    assert (variant["cost_price"], variant["cost_currency"]) == ("4.20", "EUR")
    assert created["Location"].endswith("/api/v1/catalog/variants/TEE-S-NAVY/")
    stored = Variant.objects.get(sku="TEE-S-NAVY")
    assert stored.product.handle == "organic-tee"
    assert stored.cost_price == Decimal("4.20")
    assert stored.weight_grams == 180
    # and the product's GET shows the variant
    product = api_client.get(f"{PRODUCTS}organic-tee/").json()
    assert [v["sku"] for v in product["variants"]] == ["TEE-S-NAVY"]


def test_a_create_retried_with_the_same_key_is_not_applied_twice(
    api_client: APIClient, tee_type: Any
) -> None:
    first = api_client.post(PRODUCTS, _product_body(), format="json", HTTP_IDEMPOTENCY_KEY="k")
    retry = api_client.post(PRODUCTS, _product_body(), format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert first.status_code == retry.status_code == 201
    assert retry["Idempotent-Replayed"] == "true"
    assert Product.objects.count() == 1
    other = api_client.post(
        PRODUCTS, _product_body(handle="other"), format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert Product.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"category": 999999}, [("category", "does_not_exist")]),
        ({"product_type": "no-such-type"}, [("product_type", "does_not_exist")]),
        ({"attributes": {"fabric": "Silk"}}, [("attributes.fabric", "unknown_attribute")]),
        ({"attributes": {"sleeve_length": "long"}}, [("attributes.sleeve_length", "invalid")]),
        ({"handle": "not a slug"}, [("handle", "invalid")]),
        ({"name": ""}, [("name", "blank")]),
        # a reference that names nothing does not hide the other fields' errors
        (
            {"category": 999999, "attributes": {"sleeve_length": "x"}},
            [("category", "does_not_exist"), ("attributes.sleeve_length", "invalid")],
        ),
        # without its product type the attributes cannot be checked: only the type is named
        (
            {"category": 999999, "product_type": "nope", "attributes": {"sleeve_length": "x"}},
            [("category", "does_not_exist"), ("product_type", "does_not_exist")],
        ),
        # unknown members are refused, not dropped in silence
        ({"nme": "Organic Tee"}, [("nme", "unknown_field")]),
        ({"status": "approved"}, [("status", "unknown_field")]),
        ({"name": "", "variants": []}, [("name", "blank"), ("variants", "unknown_field")]),
    ],
)
def test_a_bad_product_is_400_per_field_and_creates_nothing(
    api_client: APIClient, tee_type: Any, overrides: dict[str, Any], expected: list[Any]
) -> None:
    response = api_client.post(PRODUCTS, _product_body(**overrides), format="json")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert [(e["field"], e["code"]) for e in problem["errors"]] == expected
    assert not Product.objects.exists()


def test_a_taken_handle_is_refused(api_client: APIClient, tee_type: Any) -> None:
    services.product_create(handle="organic-tee", name="First")
    response = api_client.post(PRODUCTS, _product_body(), format="json")
    assert response.status_code == 400
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [("handle", "unique")]
    assert Product.objects.get().name == "First"


def test_a_taken_handle_is_named_with_a_category_that_does_not_exist(
    api_client: APIClient, tee_type: Any
) -> None:
    services.product_create(handle="organic-tee", name="First")
    response = api_client.post(PRODUCTS, _product_body(category=999999), format="json")
    assert response.status_code == 400
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [
        ("category", "does_not_exist"),
        ("handle", "unique"),
    ]
    assert Product.objects.get().name == "First"


def test_a_product_the_checks_pass_but_a_reference_fails_is_not_written(
    api_client: APIClient, tee_type: Any
) -> None:
    # the service runs to report its own refusals too, but what it wrote is rolled back
    response = api_client.post(PRODUCTS, _product_body(category=999999), format="json")
    assert response.status_code == 400
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [
        ("category", "does_not_exist")
    ]
    assert not Product.objects.exists()
    assert not Product.history.exists()


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"options": {"size": "xxl", "color": "navy"}}, [("options.size", "invalid")]),
        ({"options": {"size": "s", "fit": "slim"}}, [("options.fit", "not_an_axis")]),
        ({"gtin": "4006381333932"}, [("gtin", "invalid_gtin")]),
        ({"gtin": "12345"}, [("gtin", "invalid")]),
        ({"cost_price": "-1"}, [("cost_price", "invalid")]),
        ({"cost_price": "abc"}, [("cost_price", "invalid")]),
        ({"weight_grams": -5}, [("weight_grams", "min_value")]),
        ({"sku": "TAKEN"}, [("sku", "unique")]),
        ({"sku": "OTHER", "options": {"size": "m", "color": "navy"}}, [("options", "unique")]),
        # a SKU is part of URLs: one that cannot be a path segment is refused
        ({"sku": "TEE/S"}, [("sku", "invalid")]),
        ({"sku": ".."}, [("sku", "invalid")]),
        ({"sku": "TEE\tS"}, [("sku", "invalid")]),
        ({"colour": "navy"}, [("colour", "unknown_field")]),
    ],
)
def test_a_bad_variant_is_400_per_field_and_creates_nothing(
    api_client: APIClient, tee_type: Any, overrides: dict[str, Any], expected: list[Any]
) -> None:
    product = services.product_create(handle="organic-tee", name="Tee", product_type=tee_type)
    services.variant_save(product=product, sku="TAKEN", options={"size": "m", "color": "navy"})
    response = api_client.post(
        f"{PRODUCTS}organic-tee/variants/", _variant_body(**overrides), format="json"
    )
    assert response.status_code == 400, response.json()
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert [(e["field"], e["code"]) for e in problem["errors"]] == expected
    assert list(Variant.objects.values_list("sku", flat=True)) == ["TAKEN"]


def test_a_new_variants_location_reaches_it_whatever_its_sku(
    api_client: APIClient, tee_type: Any
) -> None:
    services.product_create(handle="organic-tee", name="Tee", product_type=tee_type)
    created = api_client.post(
        f"{PRODUCTS}organic-tee/variants/", _variant_body(sku="TEE S#1?%"), format="json"
    )
    assert created.status_code == 201, created.json()
    location = created["Location"]
    assert location.endswith("/api/v1/catalog/variants/TEE%20S%231%3F%25/")
    found = api_client.get(location)
    assert found.status_code == 200
    assert found.json()["sku"] == "TEE S#1?%"


def test_a_sku_that_cannot_be_in_a_url_is_refused_by_the_admins_service_and_the_imports(
    tee_type: Any, webshop: Any
) -> None:
    from catalog.exceptions import ImportFileInvalid
    from catalog.imports.services import products_import
    from catalog.resources import NATIVE_COLUMNS, catalog_native_import
    from catalog.services import category_tree_import
    from core.errors import DomainError
    from demo.categories import DEMO_CATEGORIES
    from tests.realdata import OWN_DATA

    product = services.product_create(handle="organic-tee", name="Tee", product_type=tee_type)
    # the service behind the admin's product page and variant matrix
    with pytest.raises(DomainError) as refused:
        services.variant_save(product=product, sku="TEE/S", options={"size": "s", "color": "navy"})
    assert [(e["field"], e["code"]) for e in refused.value.errors] == [("sku", "invalid")]
    # the native file: the row and the sku column
    native = io.StringIO()
    writer = csv.DictWriter(native, fieldnames=list(NATIVE_COLUMNS))
    writer.writeheader()
    row = {
        "handle": "organic-tee",
        "product_name": "Tee",
        "product_type": "t-shirt",
        "sku": "TEE/S",
    }
    writer.writerow(
        {**dict.fromkeys(NATIVE_COLUMNS, ""), **row, "options": '{"size": "s", "color": "navy"}'}
    )
    with pytest.raises(ImportFileInvalid) as refused_file:
        catalog_native_import(file_bytes=native.getvalue().encode(), fmt="csv")
    assert [(e["row"], e["column"]) for e in refused_file.value.errors] == [(2, "sku")]
    assert "“/”" in refused_file.value.errors[0]["message"]
    # a Shopify export (whose categories the demo's tree holds): the row and the SKU column
    category_tree_import(entries=DEMO_CATEGORIES)
    lines = (OWN_DATA / "shopify" / "living.csv").read_text(encoding="utf-8").split("\n")
    assert ",MUG-SAGE," in lines[2]
    lines[2] = lines[2].replace(",MUG-SAGE,", ",MUG/SAGE,", 1)
    with pytest.raises(ImportFileInvalid) as refused_shopify:
        products_import(data="\n".join(lines).encode(), price_channel_code="webshop")
    assert [(e["row"], e["column"]) for e in refused_shopify.value.errors] == [(3, "Variant SKU")]
    assert not Variant.objects.exists()
    assert list(Product.objects.values_list("handle", flat=True)) == ["organic-tee"]


def test_a_variant_of_an_unknown_product_is_404(api_client: APIClient, tee_type: Any) -> None:
    response = api_client.post(f"{PRODUCTS}nope/variants/", _variant_body(), format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert not Variant.objects.exists()


# --- update with If-Match -----------------------------------------------------------------------


def test_patch_with_the_current_etag_updates_and_answers_a_new_etag(
    api_client: APIClient, tee_type: Any
) -> None:
    services.product_create(handle="organic-tee", name="Tee", product_type=tee_type)
    url = f"{PRODUCTS}organic-tee/"
    etag = api_client.get(url)["ETag"]
    response = api_client.patch(
        url, {"name": "Organic Tee", "brand": "Acme"}, format="json", HTTP_IF_MATCH=etag
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["name"], response.json()["brand"]) == ("Organic Tee", "Acme")
    assert response["ETag"] == api_client.get(url)["ETag"] != etag
    product = Product.objects.get()
    assert (product.name, product.brand, product.status) == ("Organic Tee", "Acme", "draft")


def test_patch_with_a_stale_etag_is_412_and_changes_nothing(
    api_client: APIClient, tee_type: Any
) -> None:
    product = services.product_create(handle="organic-tee", name="Tee", product_type=tee_type)
    url = f"{PRODUCTS}organic-tee/"
    etag = api_client.get(url)["ETag"]
    services.product_update(product=product, name="Changed in the admin")
    response = api_client.patch(url, {"name": "From the ERP"}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 412
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == "precondition_failed"
    assert response["ETag"] == api_client.get(url)["ETag"]
    assert Product.objects.get().name == "Changed in the admin"


def test_a_variant_patch_with_a_stale_etag_is_412_and_changes_nothing(
    api_client: APIClient, tee_type: Any
) -> None:
    product = services.product_create(handle="organic-tee", name="Tee", product_type=tee_type)
    variant = services.variant_save(
        product=product, sku="TEE-S", options={"size": "s", "color": "navy"}
    )
    url = "/api/v1/catalog/variants/TEE-S/"
    etag = api_client.get(url)["ETag"]
    services.variant_save(
        product=product, variant=variant, sku="TEE-S", options={"size": "m", "color": "navy"}
    )
    response = api_client.patch(url, {"weight_grams": 200}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 412
    variant.refresh_from_db()
    assert (variant.options, variant.weight_grams) == ({"size": "m", "color": "navy"}, None)


def test_a_bad_patch_is_400_per_field_and_changes_nothing(
    api_client: APIClient, tee_type: Any
) -> None:
    services.product_create(handle="organic-tee", name="Tee", product_type=tee_type)
    response = api_client.patch(
        f"{PRODUCTS}organic-tee/",
        {"name": "New", "attributes": {"sleeve_length": "long"}},
        format="json",
    )
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["attributes.sleeve_length"]
    assert Product.objects.get().name == "Tee"


@pytest.mark.parametrize(
    ("url", "body", "expected"),
    [
        (f"{PRODUCTS}organic-tee/", {"nme": "New"}, [("nme", "unknown_field")]),
        (
            f"{PRODUCTS}organic-tee/",
            {"name": "New", "status": "approved"},
            [("status", "unknown_field")],
        ),
        ("/api/v1/catalog/variants/TEE-S/", {"sku": "NEW"}, [("sku", "unknown_field")]),
        (
            "/api/v1/catalog/variants/TEE-S/",
            {"weight_grams": 200, "weight": 200},
            [("weight", "unknown_field")],
        ),
    ],
)
def test_a_patch_with_a_field_it_does_not_take_is_400_and_changes_nothing(
    api_client: APIClient, tee_type: Any, url: str, body: dict[str, Any], expected: list[Any]
) -> None:
    product = services.product_create(handle="organic-tee", name="Tee", product_type=tee_type)
    services.variant_save(product=product, sku="TEE-S", options={"size": "s", "color": "navy"})
    response = api_client.patch(url, body, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "validation_error"
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == expected
    product.refresh_from_db()
    assert (product.name, product.status) == ("Tee", "draft")
    variant = Variant.objects.get()
    assert (variant.sku, variant.weight_grams) == ("TEE-S", None)


def test_a_patch_names_a_missing_category_with_the_other_fields_errors(
    api_client: APIClient, tee_type: Any
) -> None:
    services.product_create(handle="organic-tee", name="Tee", product_type=tee_type)
    response = api_client.patch(
        f"{PRODUCTS}organic-tee/",
        {"name": "New", "category": 999999, "attributes": {"sleeve_length": "long"}},
        format="json",
    )
    assert response.status_code == 400
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [
        ("category", "does_not_exist"),
        ("attributes.sleeve_length", "invalid"),
    ]
    product = Product.objects.get()
    assert (product.name, product.category_id, product.attributes) == ("Tee", None, {})


def test_unknown_handles_and_skus_are_404(api_client: APIClient, webshop: Any) -> None:
    assert api_client.get(f"{PRODUCTS}nope/").status_code == 404
    assert api_client.patch(f"{PRODUCTS}nope/", {"name": "x"}, format="json").status_code == 404
    assert api_client.get("/api/v1/catalog/variants/NOPE/").status_code == 404
    response = api_client.patch("/api/v1/catalog/variants/NOPE/", {}, format="json")
    assert response.status_code == 404


# --- approval ----------------------------------------------------------------------------------


def test_a_content_edit_sends_an_approved_product_back_to_review_keeping_its_snapshot(
    api_client: APIClient, tee_type: Any
) -> None:
    # given an approved product whose snapshot the channels show
    product = _approved_tee(tee_type)
    snapshot = product.approved_snapshot
    versions = product.history.count()
    # when the ERP renames it
    response = api_client.patch(
        f"{PRODUCTS}organic-tee/", {"name": "Organic Tee v2"}, format="json"
    )
    # then it is back in review, the approved snapshot is still the old one, and history has it
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "in_review"
    product.refresh_from_db()
    assert product.status == Product.Status.IN_REVIEW
    assert snapshot is not None and product.approved_snapshot == snapshot
    assert snapshot["name"] == "Organic Tee"
    assert product.history.count() > versions
    assert product.history.first().name == "Organic Tee v2"  # type: ignore[union-attr]
    # and approving it again publishes the new name
    services.product_approve(product_ids=[product.id])
    product.refresh_from_db()
    assert product.approved_snapshot is not None
    assert product.approved_snapshot["name"] == "Organic Tee v2"


def test_a_variant_content_edit_sends_the_product_back_to_review(
    api_client: APIClient, tee_type: Any
) -> None:
    product = _approved_tee(tee_type)
    response = api_client.patch(
        "/api/v1/catalog/variants/TEE-S-NAVY/",
        {"options": {"size": "m", "color": "navy"}},
        format="json",
    )
    assert response.status_code == 200, response.json()
    product.refresh_from_db()
    assert product.status == Product.Status.IN_REVIEW


def test_an_unchanged_patch_keeps_an_approved_product_approved(
    api_client: APIClient, tee_type: Any
) -> None:
    product = _approved_tee(tee_type)
    response = api_client.patch(
        f"{PRODUCTS}organic-tee/",
        {"name": "Organic Tee", "attributes": {"material": "Cotton"}},
        format="json",
    )
    assert response.status_code == 200
    variant = api_client.patch(
        "/api/v1/catalog/variants/TEE-S-NAVY/",
        {"options": {"size": "s", "color": "navy"}},
        format="json",
    )
    assert variant.status_code == 200
    product.refresh_from_db()
    assert product.status == Product.Status.APPROVED


# --- cost price --------------------------------------------------------------------------------


def test_a_cost_price_write_keeps_an_approved_product_approved(
    api_client: APIClient, tee_type: Any
) -> None:
    product = _approved_tee(tee_type)
    url = "/api/v1/catalog/variants/TEE-S-NAVY/"
    etag = api_client.get(url)["ETag"]
    response = api_client.patch(url, {"cost_price": "4.35"}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 200, response.json()
    assert (response.json()["cost_price"], response.json()["cost_currency"]) == ("4.35", "EUR")
    variant = Variant.objects.get(sku="TEE-S-NAVY")
    assert variant.cost_price == Decimal("4.35")
    assert variant.history.first().cost_price == Decimal("4.35")  # type: ignore[union-attr]
    product.refresh_from_db()
    assert product.status == Product.Status.APPROVED
    # null makes the cost unknown again
    cleared = api_client.patch(url, {"cost_price": None}, format="json")
    assert cleared.json()["cost_price"] is None
    assert Variant.objects.get(sku="TEE-S-NAVY").cost_price is None


# --- scopes ------------------------------------------------------------------------------------


def test_writes_and_the_editing_view_need_catalog_write(
    api_client_for: Callable[..., APIClient], tee_type: Any
) -> None:
    services.product_create(handle="organic-tee", name="Tee", product_type=tee_type)
    reader = api_client_for(scopes=["catalog:read"])
    for response in (
        reader.post(PRODUCTS, _product_body(handle="new"), format="json"),
        reader.get(f"{PRODUCTS}organic-tee/"),
        reader.patch(f"{PRODUCTS}organic-tee/", {"name": "x"}, format="json"),
        reader.post(f"{PRODUCTS}organic-tee/variants/", _variant_body(), format="json"),
    ):
        assert response.status_code == 403
        assert response.json()["code"] == "missing_scope"
    assert list(Product.objects.values_list("name", flat=True)) == ["Tee"]
    assert not Variant.objects.exists()


def test_a_staff_session_needs_the_catalog_edit_permissions(tee_type: Any) -> None:
    services.product_create(handle="organic-tee", name="Tee", product_type=tee_type)
    merch = User.objects.create_user("merch", password="x", is_staff=True)
    merch.groups.add(Group.objects.get(name=roles.MERCHANDISER))
    session = APIClient()
    session.force_login(merch)
    response = session.patch(f"{PRODUCTS}organic-tee/", {"name": "By staff"}, format="json")
    assert response.status_code == 200, response.json()
    # a role with catalog:write (it may change prices) but not products is refused
    pricer = User.objects.create_user("pricer", password="x", is_staff=True)
    from django.contrib.auth.models import Permission

    pricer.user_permissions.add(Permission.objects.get(codename="change_price"))
    pricer = User.objects.get(pk=pricer.pk)
    session = APIClient()
    session.force_login(pricer)
    refused = session.patch(f"{PRODUCTS}organic-tee/", {"name": "By pricer"}, format="json")
    assert refused.status_code == 403
    refused_variant = session.post(
        f"{PRODUCTS}organic-tee/variants/", _variant_body(), format="json"
    )
    assert refused_variant.status_code == 403
    assert Product.objects.get().name == "By staff"
    assert not Variant.objects.exists()
