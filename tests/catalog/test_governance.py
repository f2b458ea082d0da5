"""Catalog governance: typed attributes, completeness, the approval workflow, publication, prices.

Given/when/then; every refusal is checked to have changed nothing.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog import services
from catalog.exceptions import (
    AttributeValuesInvalid,
    NotAllowed,
    PriceInvalid,
    ProductNotPublishable,
    WorkflowTransitionInvalid,
)
from catalog.models import (
    ChannelContentRule,
    Product,
    ProductCompleteness,
    ProductPublication,
    Variant,
)
from catalog.selectors import channel_variant_offers, product_views, variant_prices
from core.models import ChangeEvent
from tests.catalog.factories import apparel_type, complete_product
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db


def _approved(product: Product, merchandiser, approver) -> Product:  # type: ignore[no-untyped-def]
    services.product_submit(product_ids=[product.id], user=merchandiser)
    services.product_approve(product_ids=[product.id], user=approver)
    product.refresh_from_db()
    return product


# --- typed attributes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"sleeve_length": "long"}, "attributes.sleeve_length", "Enter a number."),
        (
            {"sleeve_length": {"value": "60", "unit": "in"}},
            "attributes.sleeve_length",
            "The unit must be 'cm'.",
        ),
        ({"material": "Cotton\nPolyester"}, "attributes.material", "Text must be one line"),
        (
            {"fabric": "Silk"},
            "attributes.fabric",
            "is not a product attribute of this product type",
        ),
    ],
)
def test_badly_typed_attribute_values_are_refused_naming_the_attribute(
    webshop, values, field, message
) -> None:  # type: ignore[no-untyped-def]
    product_type = apparel_type(required_for=[webshop])
    with pytest.raises(AttributeValuesInvalid) as refused:
        services.product_create(
            handle="tee", name="Tee", product_type=product_type, attributes=values
        )
    assert refused.value.errors[0]["field"] == field
    assert message in refused.value.errors[0]["message"]
    assert not Product.objects.exists()


def test_values_are_normalised_by_type(webshop) -> None:  # type: ignore[no-untyped-def]
    product = services.product_create(
        handle="tee",
        name="Tee",
        product_type=apparel_type(),
        attributes={"sleeve_length": "61.50", "material": "  Cotton  "},
    )
    assert product.attributes == {
        "sleeve_length": {"value": "61.50", "unit": "cm"},
        "material": "Cotton",
    }


def test_variant_options_must_be_axes_with_managed_values(webshop) -> None:  # type: ignore[no-untyped-def]
    product = services.product_create(handle="tee", name="Tee", product_type=apparel_type())
    with pytest.raises(AttributeValuesInvalid) as not_an_option:
        services.variant_save(
            product=product, sku="TEE-XXL", options={"size": "xxl", "color": "navy"}
        )
    assert not_an_option.value.errors == [
        {"field": "options.size", "code": "invalid", "message": "'xxl' is not an option of Size."}
    ]
    with pytest.raises(AttributeValuesInvalid) as not_an_axis:
        services.variant_save(product=product, sku="TEE-S", options={"size": "s", "fit": "slim"})
    assert not_an_axis.value.errors[0]["field"] == "options.fit"
    assert not Variant.objects.exists()


def test_gtin_check_digit_and_unique_options_within_the_product(webshop) -> None:  # type: ignore[no-untyped-def]
    product = services.product_create(handle="tee", name="Tee", product_type=apparel_type())
    services.variant_save(product=product, sku="TEE-S", gtin="4006381333931", options={"size": "s"})
    with pytest.raises(AttributeValuesInvalid) as bad_gtin:
        services.variant_save(
            product=product, sku="TEE-M", gtin="4006381333932", options={"size": "m"}
        )
    assert bad_gtin.value.errors[0]["field"] == "gtin"
    with pytest.raises(AttributeValuesInvalid) as same_options:
        services.variant_save(product=product, sku="TEE-S2", options={"size": "s"})
    assert "options" in same_options.value.message.lower() or same_options.value.errors
    with pytest.raises(AttributeValuesInvalid) as same_sku:
        services.variant_save(product=ProductFactoryless(), sku="TEE-S", options={})
    assert same_sku.value.errors[0]["field"] == "sku"
    assert list(Variant.objects.values_list("sku", flat=True)) == ["TEE-S"]


def ProductFactoryless() -> Product:
    return services.product_create(handle="other", name="Other")


# --- completeness ------------------------------------------------------------------------------


def test_completeness_lists_exactly_what_is_missing_per_channel(webshop) -> None:  # type: ignore[no-untyped-def]
    marketplace = ChannelFactory(code="marketplace", currency="GBP")
    product = complete_product(webshop)
    on_webshop = ProductCompleteness.objects.get(product=product, channel=webshop)
    assert (on_webshop.percent, on_webshop.missing) == (100, [])
    on_marketplace = ProductCompleteness.objects.get(product=product, channel=marketplace)
    assert on_marketplace.missing == ["a GBP price on ORGANIC-TEE-S, ORGANIC-TEE-M"]
    assert on_marketplace.percent == 83  # 5 of 6 items (material is required on the webshop only)

    services.product_update(product=product, attributes={})
    on_webshop.refresh_from_db()
    assert on_webshop.missing == ["attribute Material"]


def test_completeness_is_computed_in_a_fixed_number_of_queries(
    webshop, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    from catalog.completeness import channel_infos, completeness_compute

    ids = [complete_product(webshop, name=f"Tee {n}").id for n in range(12)]
    infos = channel_infos()
    with django_assert_max_num_queries(7):
        one = completeness_compute(product_ids=ids[:1], channels=infos)
    with django_assert_max_num_queries(7):
        many = completeness_compute(product_ids=ids, channels=infos)
    assert len(one) == 1 and len(many) == 12


def test_a_title_longer_than_the_channel_allows_blocks_completeness(webshop) -> None:  # type: ignore[no-untyped-def]
    ChannelContentRule.objects.create(
        channel=webshop, title_template="{brand} {name} {material}", title_max_length=20
    )
    product = complete_product(webshop)
    services.completeness_refresh(product_ids=[product.id])
    row = ProductCompleteness.objects.get(product=product, channel=webshop)
    assert row.missing == [
        "a title of at most 20 characters (it has 23)"
    ]  # "Acme Organic Tee Cotton"


# --- workflow ----------------------------------------------------------------------------------


def test_only_catalog_approvers_approve(webshop, merchandiser, approver) -> None:  # type: ignore[no-untyped-def]
    product = complete_product(webshop)
    services.product_submit(product_ids=[product.id], user=merchandiser)
    with pytest.raises(NotAllowed):
        services.product_approve(product_ids=[product.id], user=merchandiser)
    product.refresh_from_db()
    assert (product.status, product.approved_snapshot) == (Product.Status.IN_REVIEW, None)
    services.product_approve(product_ids=[product.id], user=approver)
    product.refresh_from_db()
    assert product.status == Product.Status.APPROVED
    assert product.approved_by == approver
    assert [v["sku"] for v in product.approved_snapshot["variants"]] == [
        "ORGANIC-TEE-S",
        "ORGANIC-TEE-M",
    ]


def test_a_draft_cannot_be_approved_directly(webshop, approver) -> None:  # type: ignore[no-untyped-def]
    product = complete_product(webshop)
    with pytest.raises(WorkflowTransitionInvalid, match="Organic Tee is draft"):
        services.product_approve(product_ids=[product.id], user=approver)
    assert not ChangeEvent.objects.filter(topic="product.updated").exists()


def test_editing_an_approved_product_keeps_the_approved_version_live(
    webshop, merchandiser, approver
) -> None:  # type: ignore[no-untyped-def]
    product = _approved(complete_product(webshop), merchandiser, approver)
    services.product_publish(product_ids=[product.id], channel_code="webshop", user=merchandiser)

    services.product_update(product=product, name="Organic Tee v2", user=merchandiser)
    product.refresh_from_db()
    assert product.status == Product.Status.IN_REVIEW
    [view] = product_views(channel_code="webshop", product_ids=[product.id])
    assert view.title == "Organic Tee"  # still the approved version

    services.product_approve(product_ids=[product.id], user=approver)
    [view] = product_views(channel_code="webshop", product_ids=[product.id])
    assert view.title == "Organic Tee v2"
    events = list(
        ChangeEvent.objects.filter(aggregate="product", aggregate_id=str(product.id)).order_by("id")
    )
    assert [
        (e.topic, e.sequence, e.channel_code) for e in events if e.topic != "price.changed"
    ] == [
        ("product.updated", 3, ""),  # first approval (after two price events)
        ("product.updated", 4, "webshop"),  # published
        ("product.updated", 5, ""),  # second approval
    ]
    assert events[-1].payload["snapshot"]["name"] == "Organic Tee v2"
    assert events[-1].payload["published_on"] == ["webshop"]


# --- publication -------------------------------------------------------------------------------


def test_publishing_needs_approval_and_full_completeness_and_says_what_is_missing(
    webshop, merchandiser, approver
) -> None:  # type: ignore[no-untyped-def]
    product = complete_product(webshop)
    services.product_update(product=product, description="")
    with pytest.raises(ProductNotPublishable) as refused:
        services.product_publish(
            product_ids=[product.id], channel_code="webshop", user=merchandiser
        )
    assert refused.value.extra["missing"] == {
        "Organic Tee": ["approval (it is draft)", "description"]
    }
    assert not ProductPublication.objects.exists()

    services.product_update(product=product, description="Soft.")
    _approved(product, merchandiser, approver)
    assert (
        services.product_publish(
            product_ids=[product.id], channel_code="webshop", user=merchandiser
        )
        == 1
    )
    assert ProductPublication.objects.filter(product=product, channel=webshop).exists()
    assert (
        services.product_unpublish(
            product_ids=[product.id], channel_code="webshop", user=merchandiser
        )
        == 1
    )
    last = ChangeEvent.objects.order_by("id").last()
    assert (last.topic, last.channel_code, last.payload["reason"]) == (
        "product.deleted",
        "webshop",
        "unpublished",
    )


def test_bulk_publish_is_all_or_nothing(webshop, merchandiser, approver) -> None:  # type: ignore[no-untyped-def]
    ready = _approved(complete_product(webshop, name="Ready Tee"), merchandiser, approver)
    draft = complete_product(webshop, name="Draft Tee")
    with pytest.raises(ProductNotPublishable) as refused:
        services.product_publish(
            product_ids=[ready.id, draft.id], channel_code="webshop", user=merchandiser
        )
    assert list(refused.value.extra["missing"]) == ["Draft Tee"]
    assert not ProductPublication.objects.exists()


# --- prices and offers --------------------------------------------------------------------------


def test_a_running_promotion_wins_over_the_base_price(webshop) -> None:  # type: ignore[no-untyped-def]
    product = complete_product(webshop)
    variant = product.variants.get(sku="ORGANIC-TEE-S")
    now = timezone.now()
    services.price_set(
        variant_id=variant.id,
        channel_code="webshop",
        amount="14.99",
        compare_at_amount="19.99",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=1),
    )
    assert variant_prices(channel_code="webshop", variant_ids=[variant.id])[
        variant.id
    ].amount == Decimal("14.99")
    later = variant_prices(
        channel_code="webshop", variant_ids=[variant.id], at=now + timedelta(days=2)
    )
    assert later[variant.id].amount == Decimal("19.99")
    event = ChangeEvent.objects.filter(topic="price.changed").order_by("id").last()
    assert event.payload["prices"]["ORGANIC-TEE-S"] == {
        "amount": "14.99",
        "compare_at_amount": "19.99",
        "currency": "EUR",
    }


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"amount": "abc"}, "amount"),
        ({"amount": "-1"}, "amount"),
        ({"amount": "10.005"}, "amount"),
        ({"amount": "10", "compare_at_amount": "9"}, "compare_at_amount"),
    ],
)
def test_bad_prices_are_refused_and_change_nothing(webshop, kwargs, field) -> None:  # type: ignore[no-untyped-def]
    product = complete_product(webshop)
    variant = product.variants.first()
    before = list(variant.prices.values_list("amount", flat=True))
    events = ChangeEvent.objects.count()
    with pytest.raises(PriceInvalid) as refused:
        services.price_set(variant_id=variant.id, channel_code="webshop", **kwargs)
    assert refused.value.errors[0]["field"] == field
    assert list(variant.prices.values_list("amount", flat=True)) == before
    assert ChangeEvent.objects.count() == events


def test_offers_say_why_a_sku_cannot_be_sold(webshop, merchandiser, approver) -> None:  # type: ignore[no-untyped-def]
    product = complete_product(webshop)
    offers = channel_variant_offers(channel_code="webshop", skus=["ORGANIC-TEE-S", "NOPE"])
    assert list(offers) == ["ORGANIC-TEE-S"]
    assert (offers["ORGANIC-TEE-S"].sellable, offers["ORGANIC-TEE-S"].reason) == (
        False,
        "not_published",
    )

    _approved(product, merchandiser, approver)
    services.product_publish(product_ids=[product.id], channel_code="webshop", user=merchandiser)
    offer = channel_variant_offers(channel_code="webshop", skus=["ORGANIC-TEE-S"])["ORGANIC-TEE-S"]
    assert (offer.sellable, offer.price, offer.currency, offer.options) == (
        True,
        Decimal("19.99"),
        "EUR",
        {"size": "S", "color": "Navy"},
    )
    assert offer.title == "Organic Tee - S / Navy"

    # a variant added after approval is not for sale until the new version is approved
    services.variant_save(
        product=product, sku="ORGANIC-TEE-L", options={"size": "l", "color": "navy"}
    )
    services.price_set(
        variant_id=Variant.objects.get(sku="ORGANIC-TEE-L").id,
        channel_code="webshop",
        amount="19.99",
    )
    assert (
        channel_variant_offers(channel_code="webshop", skus=["ORGANIC-TEE-L"])[
            "ORGANIC-TEE-L"
        ].reason
        == "not_approved"
    )
