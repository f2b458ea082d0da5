"""The merchandisers' back office: bounded queries, typed attribute fields, workflow and
publication actions, search by SKU and GTIN, filters, history and the import page."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from catalog import services
from catalog.models import ImportJob, Product, ProductPublication
from catalog.services import category_tree_import
from demo.categories import DEMO_CATEGORIES
from tests.catalog.factories import apparel_type, complete_product
from tests.realdata import OWN_DATA

pytestmark = pytest.mark.django_db
SHOPIFY = OWN_DATA / "shopify"


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _messages(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_product_changelist_queries_do_not_grow_with_products_or_variants(
    webshop, merchandiser, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    client = _client(merchandiser)
    url = reverse("admin:catalog_product_changelist")
    for n in range(3):
        complete_product(webshop, name=f"Tee {n}")
    with django_assert_max_num_queries(25) as few:
        assert client.get(url).status_code == 200
    for n in range(3, 30):
        complete_product(webshop, name=f"Tee {n}", sizes=("s", "m", "l"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert response.status_code == 200
    assert "webshop&nbsp;100%" in response.content.decode()


def test_product_changelist_filters_and_columns(webshop, merchandiser) -> None:  # type: ignore[no-untyped-def]
    """The brand and category filters list exactly the distinct values products have (found by
    a loose index scan), in order, without blanks; the list shows each product's category and
    its completeness per channel in channel-code order."""
    from django.utils.html import escape

    from catalog.models import Category
    from core.models import Channel

    client = _client(merchandiser)
    url = reverse("admin:catalog_product_changelist")
    tees = [complete_product(webshop, name=f"Tee {n}") for n in range(3)]
    Product.objects.filter(pk=tees[1].pk).update(brand="Zeta")
    Product.objects.filter(pk=tees[2].pk).update(brand="", category=None)
    Channel.objects.create(code="aaa-shop", name="A shop", kind="webshop", currency="EUR")
    services.completeness_refresh()

    response = client.get(url)
    assert response.status_code == 200
    spec = {f.title: f for f in response.context["cl"].filter_specs}
    assert [value for value, _ in spec["brand"].lookup_choices] == ["Acme", "Zeta"]
    category = Category.objects.get(pk=tees[0].category_id)
    assert [pk for pk, _ in spec["category"].lookup_choices] == [category.pk]
    page = response.content.decode()
    assert f'<td class="field-category nowrap">{escape(str(category))}</td>' in page
    assert page.index("aaa-shop&nbsp;") < page.index("webshop&nbsp;100%")
    assert (  # the row checkbox, written without a widget template: Django's markup
        f'<input type="checkbox" name="_selected_action" value="{tees[0].pk}" '
        f'class="action-select" aria-label="Select this object for an action - Tee 0">'
    ) in page
    filtered = client.get(url, {"brand": "Zeta"})
    assert [p.pk for p in filtered.context["cl"].result_list] == [tees[1].pk]
    by_category = client.get(url, {"category__id__exact": category.pk})
    assert {p.pk for p in by_category.context["cl"].result_list} == {tees[0].pk, tees[1].pk}


def test_product_change_page_queries_do_not_grow_with_variants(
    webshop, merchandiser, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    client = _client(merchandiser)
    small = complete_product(webshop, name="Small", sizes=("s",))
    big = complete_product(webshop, name="Big", sizes=("s", "m", "l"))
    with django_assert_max_num_queries(60) as few:
        assert (
            client.get(reverse("admin:catalog_product_change", args=[small.pk])).status_code == 200
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("admin:catalog_product_change", args=[big.pk]))
    assert "BIG-L" in response.content.decode()


def test_search_by_name_sku_and_gtin(webshop, merchandiser) -> None:  # type: ignore[no-untyped-def]
    client = _client(merchandiser)
    tee = complete_product(webshop, name="Organic Tee")
    complete_product(webshop, name="Linen Shirt")
    services.variant_save(
        product=tee,
        variant=tee.variants.get(sku="ORGANIC-TEE-S"),
        sku="ORGANIC-TEE-S",
        gtin="4006381333931",
        options={"size": "s", "color": "navy"},
    )
    url = reverse("admin:catalog_product_changelist")
    for query in ["organic", "ORGANIC-TEE-M", "4006381333931"]:
        page = client.get(url, {"q": query}).content.decode()
        assert "Organic Tee" in page and "Linen Shirt" not in page, query


def test_completeness_and_channel_filters(webshop, merchandiser, approver) -> None:  # type: ignore[no-untyped-def]
    client = _client(merchandiser)
    done = complete_product(webshop, name="Done Tee")
    lacking = complete_product(webshop, name="Lacking Tee")
    services.product_update(product=lacking, description="")
    url = reverse("admin:catalog_product_changelist")
    incomplete = client.get(url, {"complete": "no:webshop"}).content.decode()
    assert "Lacking Tee" in incomplete and "Done Tee" not in incomplete
    services.product_submit(product_ids=[done.id], user=merchandiser)
    services.product_approve(product_ids=[done.id], user=approver)
    services.product_publish(product_ids=[done.id], channel_code="webshop", user=merchandiser)
    published = client.get(url, {"channel": "on:webshop"}).content.decode()
    assert "Done Tee" in published and "Lacking Tee" not in published


def test_creating_a_product_with_typed_attribute_fields(webshop, merchandiser) -> None:  # type: ignore[no-untyped-def]
    client = _client(merchandiser)
    product_type = apparel_type(required_for=[webshop])
    add = reverse("admin:catalog_product_add")
    form = {
        "name": "Tee",
        "handle": "tee",
        "brand": "Acme",
        "product_type": product_type.pk,
        "description": "Soft.",
        "variants-TOTAL_FORMS": 0,
        "variants-INITIAL_FORMS": 0,
        "channel_content-TOTAL_FORMS": 0,
        "channel_content-INITIAL_FORMS": 0,
    }
    form.update(_media_management())
    response = client.post(add, form)
    assert response.status_code == 302, response.content.decode()[:3000]
    product = Product.objects.get(handle="tee")
    assert product.status == Product.Status.DRAFT

    change = reverse("admin:catalog_product_change", args=[product.pk])
    page = client.get(change).content.decode()
    assert 'name="attr__material"' in page and 'name="attr__sleeve_length"' in page
    assert '<datalist id="brand-suggestions"><option value="Acme">' in page  # brand autocomplete
    bad = client.post(change, {**form, "attr__material": "Cotton", "attr__sleeve_length": "long"})
    assert bad.status_code == 200 and "Enter a number." in bad.content.decode()
    product.refresh_from_db()
    assert product.attributes == {}
    good = client.post(change, {**form, "attr__material": "Cotton", "attr__sleeve_length": "61"})
    assert good.status_code == 302
    product.refresh_from_db()
    assert product.attributes == {
        "material": "Cotton",
        "sleeve_length": {"value": "61", "unit": "cm"},
    }


def _media_management() -> dict[str, Any]:
    """The image inline's empty management form."""
    return {"media-TOTAL_FORMS": 0, "media-INITIAL_FORMS": 0}


def test_workflow_and_publication_actions(webshop, merchandiser, approver) -> None:  # type: ignore[no-untyped-def]
    product = complete_product(webshop)
    url = reverse("admin:catalog_product_changelist")
    merch, appr = _client(merchandiser), _client(approver)

    def act(client: Client, action: str, **extra: str) -> list[str]:
        response = client.post(
            url, {"action": action, "_selected_action": [product.pk], **extra}, follow=True
        )
        return _messages(response)

    assert act(merch, "publish", channel="webshop") == [
        "Cannot publish on webshop: Organic Tee needs approval (it is draft)"
    ]
    assert act(merch, "submit_for_review") == ["1 product(s) submitted for review."]
    assert (
        "approve"
        not in merch.get(url).content.decode().split('name="action"')[1].split("</select>")[0]
    )
    act(merch, "approve")
    product.refresh_from_db()
    assert product.status == Product.Status.IN_REVIEW  # a merchandiser cannot approve
    assert act(appr, "approve") == ["1 product(s) approved."]
    assert act(merch, "publish") == ["Choose a channel in the action bar first."]
    assert act(merch, "publish", channel="webshop") == ["1 product(s) published on webshop."]
    assert ProductPublication.objects.filter(product=product, channel=webshop).exists()
    assert act(merch, "set_category", category="Nope")[0].startswith("No category 'Nope'")


def test_history_shows_who_changed_which_field(webshop, merchandiser) -> None:  # type: ignore[no-untyped-def]
    product = complete_product(webshop)
    services.product_update(product=product, name="Organic Tee v2", user=merchandiser)
    page = (
        _client(merchandiser)
        .get(reverse("admin:catalog_product_history", args=[product.pk]))
        .content.decode()
    )
    assert "Organic Tee v2" in page and "Organic Tee" in page and "name" in page


def test_import_page_runs_a_job_and_shows_the_summary(
    webshop, merchandiser, settings, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    settings.CATALOG_IMPORT_FETCH_IMAGES = False
    category_tree_import(entries=DEMO_CATEGORIES)  # the file names Google categories
    client = _client(merchandiser)
    with (
        (SHOPIFY / "wardrobe.csv").open("rb") as handle,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post(
            reverse("admin:catalog_importjob_upload"),
            {"format": "shopify", "file": handle, "price_channel": "webshop", "stock_location": ""},
        )
    job = ImportJob.objects.get()
    assert response.status_code == 302
    page = client.get(reverse("admin:catalog_importjob_change", args=[job.pk])).content.decode()
    assert job.status == ImportJob.Status.SUCCEEDED, job.errors
    assert "products created: <strong>3</strong>" in page


def test_import_page_lists_every_bad_cell(
    webshop, merchandiser, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    client = _client(merchandiser)
    header = (SHOPIFY / "wardrobe.csv").read_text().splitlines()[0]
    bad = f"{header}\nbad-tee,Bad Tee,,,,,,Title,Default Title,,,,,,,,,,,ten\n".encode()
    from django.core.files.uploadedfile import SimpleUploadedFile

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("admin:catalog_importjob_upload"),
            {
                "format": "shopify",
                "file": SimpleUploadedFile("bad.csv", bad),
                "price_channel": "webshop",
            },
        )
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.FAILED
    assert job.errors == [
        {"row": 2, "column": "Variant Price", "message": "'ten' is not an amount."}
    ]
    page = client.get(reverse("admin:catalog_importjob_change", args=[job.pk])).content.decode()
    assert "&#x27;ten&#x27; is not an amount." in page
    assert not Product.objects.exists()


def test_export_from_the_list_and_import_the_file_back_through_a_job(
    webshop, merchandiser, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    from django.core.files.uploadedfile import SimpleUploadedFile

    product = complete_product(webshop)
    client = _client(merchandiser)
    url = reverse("admin:catalog_product_changelist")
    exported = client.post(url, {"action": "export_csv", "_selected_action": [product.pk]})
    assert exported["Content-Disposition"] == 'attachment; filename="products.csv"'
    data = exported.content
    assert b"ORGANIC-TEE-S" in data and b"ORGANIC-TEE-M" in data
    xlsx = client.post(url, {"action": "export_xlsx", "_selected_action": [product.pk]})
    assert xlsx.content[:2] == b"PK"  # a zip container, as XLSX is

    edited = data.replace(b"Soft organic cotton.", b"Softer organic cotton.")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("admin:catalog_importjob_upload"),
            {
                "format": "native",
                "file": SimpleUploadedFile("products.csv", edited),
                "price_channel": "webshop",
            },
        )
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.SUCCEEDED, job.errors
    product.refresh_from_db()
    assert product.description == "Softer organic cotton."
    assert Product.objects.count() == 1
