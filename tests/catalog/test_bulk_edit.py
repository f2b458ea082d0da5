"""Bulk edits (``catalog.bulk_edit``, ``catalog.admin_bulk``): set an attribute, change or
schedule prices with a preview, the workflow beyond 1,000 products; row by row, with history."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from catalog import bulk_edit, services
from catalog.exceptions import AttributeValuesInvalid, NotAllowed, PriceInvalid, UnknownChannel
from catalog.models import (
    BulkEditJob,
    BulkEditJobRow,
    Price,
    Product,
    ProductPublication,
    ProductType,
    Variant,
)
from catalog.selectors import variant_prices
from core.models import AuditEntry, ChangeEvent
from tests.catalog.factories import apparel_type, complete_product
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

Action, Target, RowStatus = BulkEditJob.Action, BulkEditJob.Target, BulkEditJobRow.Status


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _messages(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _variant(product: Product, sku: str, size: str) -> Variant:
    return services.variant_save(product=product, sku=sku, options={"size": size, "color": "white"})


def _price_job(user: User | None, variant_ids: list[int], **params: Any) -> BulkEditJob:
    action = params.pop("action", Action.PRICE_CHANGE)
    cleaned = bulk_edit.price_params_clean(action=action, **params)
    job = bulk_edit.bulk_edit_job_create(
        action=action, target=Target.VARIANT, object_ids=variant_ids, params=cleaned, user=user
    )
    assert bulk_edit.bulk_edit_job_start(job=job) is True  # small: runs in the request
    job.refresh_from_db()
    return job


def _amount(variant: Variant, channel: str = "webshop") -> Decimal:
    return Price.objects.get(variant=variant, channel__code=channel, starts_at=None).amount


# --- prices ---------------------------------------------------------------------------------


def test_price_change_by_percentage_rounds_half_up_and_fails_rows_alone(
    webshop, merchandiser
) -> None:  # type: ignore[no-untyped-def]
    """Given variants at 19.99, 0.10 (+5 % is 0.105, a half), one without a price and one whose
    compare-at price a rise would pass, when prices rise by 5 %, then the first two change
    (0.105 -> 0.11: halves go up), the other two fail with their reason and keep their prices,
    and the job says so."""
    product = complete_product(webshop)  # ORGANIC-TEE-S and -M at 19.99
    tee_s, tee_m = (product.variants.get(sku=f"ORGANIC-TEE-{size}") for size in "SM")
    services.price_set(variant_id=tee_m.id, channel_code="webshop", amount="0.10")
    bare = _variant(product, "ORGANIC-TEE-L", "l")
    sale = _variant(product, "ORGANIC-TEE-XL", "m")  # options differ by colour below
    Variant.objects.filter(id=sale.id).update(options={"size": "m", "color": "navy-x"})
    services.price_set(
        variant_id=sale.id, channel_code="webshop", amount="10.00", compare_at_amount="10.20"
    )

    job = _price_job(
        merchandiser,
        [tee_s.id, tee_m.id, bare.id, sale.id],
        channel="webshop",
        kind="percent",
        value="5",
    )

    assert (job.status, job.total, job.done, job.failed) == (BulkEditJob.Status.PARTIAL, 4, 2, 2)
    assert _amount(tee_s) == Decimal("20.99")  # 19.99 * 1.05 = 20.9895
    assert _amount(tee_m) == Decimal("0.11")
    assert _amount(sale) == Decimal("10.00")
    assert not Price.objects.filter(variant=bare).exists()
    rows = {row.label: row for row in job.rows.all()}
    assert rows["ORGANIC-TEE-S"].before == {"amount": "19.99", "currency": "EUR"}
    assert rows["ORGANIC-TEE-S"].after == {"amount": "20.99", "currency": "EUR"}
    assert rows["ORGANIC-TEE-L"].error == "No base price on webshop in EUR to change."
    assert rows["ORGANIC-TEE-XL"].error == (
        "The compare-at price 10.20 EUR must stay above the price (it would be 10.50 EUR)."
    )
    # history names the job and its author; the channels hear of the new prices
    history = Price.history.filter(history_change_reason=f"bulk edit job #{job.pk}")
    assert sorted((h.variant_id, h.amount, h.history_user_id) for h in history) == sorted(
        [
            (tee_s.id, Decimal("20.99"), merchandiser.id),
            (tee_m.id, Decimal("0.11"), merchandiser.id),
        ]
    )
    event = ChangeEvent.objects.filter(topic="price.changed", aggregate_id=str(product.id)).last()
    assert event is not None
    assert event.payload["prices"]["ORGANIC-TEE-S"]["amount"] == "20.99"
    audit = AuditEntry.objects.get(object_type="catalog.bulkeditjob", object_id=str(job.pk))
    assert audit.data["prices_changed"] == 2


def test_price_change_by_amount_below_zero_fails_that_row(webshop, merchandiser) -> None:  # type: ignore[no-untyped-def]
    product = complete_product(webshop, price="1.50")
    cheap, other = product.variants.order_by("sku")
    services.price_set(variant_id=other.id, channel_code="webshop", amount="5.00")

    job = _price_job(
        merchandiser, [cheap.id, other.id], channel="webshop", kind="amount", value="-2"
    )

    assert _amount(cheap) == Decimal("1.50")
    assert _amount(other) == Decimal("3.00")
    failed = job.rows.get(status=RowStatus.FAILED)
    assert failed.error == "The price would be below zero (-0.50 EUR)."


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        ({"kind": "percent", "value": "ten"}, PriceInvalid, "'ten' is not a number"),
        ({"kind": "amount", "value": "1.234"}, PriceInvalid, "at most two decimals"),
        ({"kind": "percent", "value": "-100"}, PriceInvalid, "above -100"),
        ({"kind": "set", "value": "-1"}, PriceInvalid, "zero or more"),
        ({"kind": "double", "value": "1"}, PriceInvalid, "how to change"),
        ({"kind": "set", "value": "1", "channel": "mars"}, UnknownChannel, "no channel 'mars'"),
    ],
)
def test_bad_price_input_is_refused_before_anything_is_written(
    webshop, params, error, message
) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error) as refused:
        bulk_edit.price_params_clean(action=Action.PRICE_CHANGE, **{"channel": "webshop", **params})
    assert message in refused.value.message
    assert not BulkEditJob.objects.exists()


def test_scheduled_price_wins_from_its_start_and_is_announced_then(webshop, merchandiser) -> None:  # type: ignore[no-untyped-def]
    """The schedule reuses the dated prices (promotions) of ``Price``: nothing changes before the
    start, the new amount is the price from then on, no ``price.changed`` is recorded now (the
    ``promotions_announce`` beat announces it at the start), and scheduling again is a no-op."""
    product = complete_product(webshop)
    variant = product.variants.order_by("sku").first()
    assert variant is not None
    start = timezone.now() + timedelta(days=2)
    events_before = ChangeEvent.objects.filter(topic="price.changed").count()

    job = _price_job(
        merchandiser,
        [variant.id],
        action=Action.PRICE_SCHEDULE,
        channel="webshop",
        kind="percent",
        value="-20",
        starts_at=start.isoformat(),
    )

    assert job.status == BulkEditJob.Status.SUCCEEDED
    dated = Price.objects.get(variant=variant, starts_at__isnull=False)
    assert (dated.amount, dated.starts_at, dated.ends_at) == (Decimal("15.99"), start, None)
    now_price = variant_prices(channel_code="webshop", variant_ids=[variant.id])[variant.id]
    later = variant_prices(
        channel_code="webshop", variant_ids=[variant.id], at=start + timedelta(minutes=1)
    )[variant.id]
    assert (now_price.amount, later.amount) == (Decimal("19.99"), Decimal("15.99"))
    assert ChangeEvent.objects.filter(topic="price.changed").count() == events_before
    assert services.promotions_announce(since=start - timedelta(minutes=1), until=start) == 1

    again = _price_job(
        merchandiser,
        [variant.id],
        action=Action.PRICE_SCHEDULE,
        channel="webshop",
        kind="percent",
        value="-20",
        starts_at=start.isoformat(),
    )
    assert again.rows.get().status == RowStatus.UNCHANGED
    assert Price.objects.filter(variant=variant, starts_at__isnull=False).count() == 1


def test_schedule_needs_a_future_start_before_its_end(webshop) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    common: dict[str, Any] = {
        "action": Action.PRICE_SCHEDULE,
        "channel": "webshop",
        "kind": "set",
        "value": "9",
    }
    with pytest.raises(PriceInvalid, match="needs the date and time"):
        bulk_edit.price_params_clean(**common)
    with pytest.raises(PriceInvalid, match="cannot start in the past"):
        bulk_edit.price_params_clean(**common, starts_at=now - timedelta(days=1))
    with pytest.raises(PriceInvalid, match="must end after it starts"):
        bulk_edit.price_params_clean(
            **common, starts_at=now + timedelta(days=2), ends_at=now + timedelta(days=1)
        )


# --- attributes -----------------------------------------------------------------------------


def test_set_attribute_validates_like_the_admin_and_sends_approved_products_back_to_review(
    webshop, merchandiser, approver
) -> None:  # type: ignore[no-untyped-def]
    """Given an approved tee, a draft tee and a product of another type, when the material is set
    on all three, then the tees get it (the approved one back in review, its snapshot still
    live), the other product's row fails naming why, and the history names the job."""
    approved = complete_product(webshop, name="Approved Tee")
    services.product_submit(product_ids=[approved.id])
    services.product_approve(product_ids=[approved.id], user=approver)
    draft = complete_product(webshop, name="Draft Tee")
    mug_type = ProductType.objects.create(code="mug", name="Mug")
    mug = services.product_create(handle="mug", name="Mug", product_type=mug_type)
    params = bulk_edit.attribute_params_clean(target="product", attribute="material", value="Linen")

    job = bulk_edit.bulk_edit_job_create(
        action=Action.SET_ATTRIBUTE,
        target=Target.PRODUCT,
        object_ids=[approved.id, draft.id, mug.id],
        params=params,
        user=merchandiser,
    )
    bulk_edit.bulk_edit_job_start(job=job)
    job.refresh_from_db()

    approved.refresh_from_db()
    draft.refresh_from_db()
    assert approved.attributes["material"] == draft.attributes["material"] == "Linen"
    assert approved.status == Product.Status.IN_REVIEW
    assert approved.approved_snapshot is not None  # still what the channels show
    assert (job.done, job.failed) == (2, 1)
    assert job.rows.get(object_id=mug.id).error == "Material is not a product attribute of Mug."
    assert job.rows.get(object_id=draft.id).before == {"material": "Cotton"}
    assert job.rows.get(object_id=draft.id).after == {"material": "Linen"}
    assert Product.history.filter(
        id=draft.id, history_change_reason=f"bulk edit job #{job.pk}", attributes__material="Linen"
    ).exists()


def test_an_option_the_attribute_does_not_know_is_refused(webshop) -> None:  # type: ignore[no-untyped-def]
    apparel_type()
    from catalog.models import Attribute, AttributeOption, ProductTypeAttribute

    fit = Attribute.objects.create(code="fit", name="Fit", kind="select")
    AttributeOption.objects.create(attribute=fit, code="slim", label="Slim fit")
    ProductTypeAttribute.objects.create(
        product_type=ProductType.objects.get(code="t-shirt"), attribute=fit, level="product"
    )

    with pytest.raises(AttributeValuesInvalid) as refused:
        bulk_edit.attribute_params_clean(target="product", attribute="fit", value="baggy")
    assert refused.value.message == "Fit: 'baggy' is not an option of Fit."
    # the label is as good as the code
    assert bulk_edit.attribute_params_clean(
        target="product", attribute="fit", value="slim fit"
    ) == {
        "attribute": "fit",
        "value": "slim",
    }
    # variant axes are the variants' options, not attributes to set in bulk
    with pytest.raises(AttributeValuesInvalid, match="not a variant attribute"):
        bulk_edit.attribute_params_clean(target="variant", attribute="size", value="s")
    assert not BulkEditJob.objects.exists()


# --- the workflow ---------------------------------------------------------------------------


def test_publish_job_fails_the_products_that_cannot_be_published_and_publishes_the_rest(
    webshop, merchandiser, approver
) -> None:  # type: ignore[no-untyped-def]
    ready = complete_product(webshop, name="Ready Tee")
    services.product_submit(product_ids=[ready.id])
    services.product_approve(product_ids=[ready.id], user=approver)
    draft = complete_product(webshop, name="Draft Tee")
    params = bulk_edit.governance_params_clean(action=Action.PUBLISH, channel="webshop")

    job = bulk_edit.bulk_edit_job_create(
        action=Action.PUBLISH,
        target=Target.PRODUCT,
        object_ids=[ready.id, draft.id],
        params=params,
        user=merchandiser,
    )
    bulk_edit.bulk_edit_job_start(job=job)
    job.refresh_from_db()

    assert list(ProductPublication.objects.values_list("product_id", flat=True)) == [ready.id]
    assert job.status == BulkEditJob.Status.PARTIAL
    assert job.rows.get(object_id=draft.id).error == (
        "Cannot publish on webshop: Draft Tee needs approval (it is draft)"
    )
    assert job.rows.get(object_id=ready.id).after == {"published_on": "webshop"}


def test_submit_job_leaves_products_already_in_review_as_they_are(merchandiser) -> None:  # type: ignore[no-untyped-def]
    first = services.product_create(handle="a", name="A")
    second = services.product_create(handle="b", name="B")
    services.product_submit(product_ids=[second.id])

    job = bulk_edit.bulk_edit_job_create(
        action=Action.SUBMIT,
        target=Target.PRODUCT,
        object_ids=[first.id, second.id],
        params={},
        user=merchandiser,
    )
    bulk_edit.bulk_edit_job_start(job=job)

    assert set(Product.objects.values_list("status", flat=True)) == {Product.Status.IN_REVIEW}
    assert dict(job.rows.values_list("object_id", "status")) == {
        first.id: RowStatus.CHANGED,
        second.id: RowStatus.UNCHANGED,
    }


def test_a_merchandiser_cannot_approve_in_bulk(merchandiser) -> None:  # type: ignore[no-untyped-def]
    product = services.product_create(handle="a", name="A")
    with pytest.raises(NotAllowed):
        bulk_edit.bulk_edit_job_create(
            action=Action.APPROVE,
            target=Target.PRODUCT,
            object_ids=[product.id],
            params={},
            user=merchandiser,
        )
    assert not BulkEditJob.objects.exists()


def test_a_job_whose_author_lost_the_permission_stops_and_changes_nothing(
    webshop, merchandiser
) -> None:  # type: ignore[no-untyped-def]
    product = complete_product(webshop)
    ids = list(product.variants.values_list("id", flat=True))
    params = bulk_edit.price_params_clean(
        action=Action.PRICE_CHANGE, channel="webshop", kind="set", value="5"
    )
    job = bulk_edit.bulk_edit_job_create(
        action=Action.PRICE_CHANGE,
        target=Target.VARIANT,
        object_ids=ids,
        params=params,
        user=merchandiser,
    )
    merchandiser.groups.clear()

    job = bulk_edit.bulk_edit_job_run(job_id=job.id)

    assert job.status == BulkEditJob.Status.FAILED
    assert "You may not change prices in bulk" in job.error
    assert set(job.rows.values_list("status", flat=True)) == {RowStatus.PENDING}
    assert set(Price.objects.values_list("amount", flat=True)) == {Decimal("19.99")}


def test_a_job_goes_on_where_it_stopped_and_never_edits_a_row_twice(
    webshop, merchandiser, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.CATALOG_BULK_EDIT_BATCH_SIZE = 1
    product = complete_product(webshop, sizes=("s", "m", "l"))
    ids = list(product.variants.values_list("id", flat=True))
    params = bulk_edit.price_params_clean(
        action=Action.PRICE_CHANGE, channel="webshop", kind="amount", value="1"
    )
    job = bulk_edit.bulk_edit_job_create(
        action=Action.PRICE_CHANGE,
        target=Target.VARIANT,
        object_ids=ids,
        params=params,
        user=merchandiser,
    )

    job = bulk_edit.bulk_edit_job_run(job_id=job.id, max_batches=1)
    assert (job.status, job.done, job.progress_percent) == (BulkEditJob.Status.RUNNING, 1, 33)
    job = bulk_edit.bulk_edit_job_run(job_id=job.id)
    job = bulk_edit.bulk_edit_job_run(job_id=job.id)  # a redelivered run: nothing left to do

    assert (job.status, job.done, job.failed) == (BulkEditJob.Status.SUCCEEDED, 3, 0)
    assert set(Price.objects.values_list("amount", flat=True)) == {Decimal("20.99")}


# --- the admin ------------------------------------------------------------------------------


def _post_action(client: Client, url: str, action: str, ids: list[int], **data: Any) -> Any:
    return client.post(url, {"action": action, "_selected_action": ids, **data}, follow=True)


def test_admin_price_change_shows_a_preview_then_runs_and_shows_the_job(
    webshop, merchandiser
) -> None:  # type: ignore[no-untyped-def]
    product = complete_product(webshop)
    ids = list(product.variants.values_list("id", flat=True))
    client = _client(merchandiser)
    url = reverse("admin:catalog_variant_changelist")

    form = _post_action(client, url, "bulk_change_prices", ids)
    assert "2 variants selected." in form.content.decode()

    fields = {"bulk-channel": "webshop", "bulk-kind": "percent", "bulk-value": "10"}
    preview = _post_action(
        client, url, "bulk_change_prices", ids, _bulk_step="preview", **fields
    ).content.decode()
    assert "Prices on <strong>webshop</strong> in <strong>EUR</strong>" in preview
    assert "rounded to the cent, halves up" in preview
    assert "<td>ORGANIC-TEE-S</td><td>Organic Tee</td><td>EUR</td><td>19.99</td><td>21.99</td>" in (
        preview
    )
    assert set(Price.objects.values_list("amount", flat=True)) == {Decimal("19.99")}  # not yet

    done = _post_action(client, url, "bulk_change_prices", ids, _bulk_step="confirm", **fields)
    job = BulkEditJob.objects.get()
    assert done.redirect_chain[-1][0] == reverse("admin:catalog_bulkeditjob_change", args=[job.pk])
    assert _messages(done) == ["Change prices: 2 of 2 row(s) done."]
    page = done.content.decode()
    assert "100% (2 of 2 rows: 2 done, 0 failed)" in page
    assert "amount: 19.99, currency: EUR" in page and "amount: 21.99, currency: EUR" in page
    assert set(Price.objects.values_list("amount", flat=True)) == {Decimal("21.99")}


def test_admin_refuses_a_price_that_is_not_a_number_and_changes_nothing(
    webshop, merchandiser
) -> None:  # type: ignore[no-untyped-def]
    product = complete_product(webshop)
    client = _client(merchandiser)
    url = reverse("admin:catalog_product_changelist")
    fields = {"bulk-channel": "webshop", "bulk-kind": "amount", "bulk-value": "12,5x"}

    response = _post_action(
        client, url, "bulk_change_prices", [product.id], _bulk_step="confirm", **fields
    )

    assert "&#x27;12,5x&#x27; is not a number" in response.content.decode()
    assert not BulkEditJob.objects.exists()
    assert set(Price.objects.values_list("amount", flat=True)) == {Decimal("19.99")}


def test_admin_set_attribute_refuses_an_unknown_option(webshop, merchandiser) -> None:  # type: ignore[no-untyped-def]
    product = complete_product(webshop)
    client = _client(merchandiser)
    url = reverse("admin:catalog_variant_changelist")
    ids = list(product.variants.values_list("id", flat=True))
    from catalog.models import Attribute, AttributeOption, ProductTypeAttribute

    fit = Attribute.objects.create(code="fit", name="Fit", kind="select")
    AttributeOption.objects.create(attribute=fit, code="slim", label="Slim")
    ProductTypeAttribute.objects.create(
        product_type=ProductType.objects.get(code="t-shirt"), attribute=fit, level="variant"
    )
    fields = {"bulk-attribute": "fit", "bulk-value": "baggy"}

    refused = _post_action(client, url, "bulk_set_attribute", ids, _bulk_step="confirm", **fields)
    assert "Fit: &#x27;baggy&#x27; is not an option of Fit." in refused.content.decode()
    assert not BulkEditJob.objects.exists()

    fields["bulk-value"] = "Slim"
    _post_action(client, url, "bulk_set_attribute", ids, _bulk_step="confirm", **fields)
    assert [v.attributes for v in Variant.objects.all()] == [{"fit": "slim"}, {"fit": "slim"}]


def test_price_actions_are_offered_only_with_the_price_permission(webshop) -> None:  # type: ignore[no-untyped-def]
    product = complete_product(webshop)
    user: User = UserFactory.create(username="copywriter")
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="catalog", codename__in=["view_product", "change_product"]
        )
    )
    client = _client(user)
    url = reverse("admin:catalog_product_changelist")

    actions = client.get(url).content.decode().split('name="action"')[1].split("</select>")[0]
    assert "bulk_set_attribute" in actions
    assert "bulk_change_prices" not in actions and "bulk_schedule_price" not in actions
    fields = {"bulk-channel": "webshop", "bulk-kind": "set", "bulk-value": "1"}
    _post_action(client, url, "bulk_change_prices", [product.id], _bulk_step="confirm", **fields)
    assert not BulkEditJob.objects.exists()
    assert set(Price.objects.values_list("amount", flat=True)) == {Decimal("19.99")}


def test_workflow_actions_beyond_the_limit_become_a_job(
    merchandiser, settings, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    settings.CATALOG_BULK_EDIT_INLINE_MAX = 2
    ids = [services.product_create(handle=f"p{n}", name=f"P{n}").id for n in range(3)]
    client = _client(merchandiser)
    url = reverse("admin:catalog_product_changelist")

    with django_capture_on_commit_callbacks(execute=True):
        response = _post_action(client, url, "submit_for_review", ids)

    job = BulkEditJob.objects.get()
    assert (job.action, job.total, job.status) == (Action.SUBMIT, 3, BulkEditJob.Status.SUCCEEDED)
    assert _messages(response) == [
        f"Submit for review of 3 rows runs in the background as job #{job.pk}; this page shows "
        "its progress."
    ]
    assert set(Product.objects.values_list("status", flat=True)) == {Product.Status.IN_REVIEW}


def test_the_job_page_refreshes_while_the_job_runs(webshop, merchandiser) -> None:  # type: ignore[no-untyped-def]
    product = complete_product(webshop)
    params = bulk_edit.price_params_clean(
        action=Action.PRICE_CHANGE, channel="webshop", kind="set", value="5"
    )
    job = bulk_edit.bulk_edit_job_create(
        action=Action.PRICE_CHANGE,
        target=Target.PRODUCT,
        object_ids=[product.id],
        params=params,
        user=merchandiser,
    )
    client = _client(merchandiser)
    url = reverse("admin:catalog_bulkeditjob_change", args=[job.pk])

    queued = client.get(url)
    assert queued["Refresh"] == "2"
    assert "0% (0 of 2 rows: 0 done, 0 failed)" in queued.content.decode()

    bulk_edit.bulk_edit_job_run(job_id=job.id)
    finished = client.get(url)
    assert "Refresh" not in finished
    assert "set to an amount: 5 on webshop." in finished.content.decode()


def test_the_task_queues_the_rest_of_a_job_when_its_time_is_up(
    webshop, merchandiser, settings, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Given a task run may work for no time at all, each run does one batch and queues the
    next (eager here), until the job is done."""
    from catalog.tasks import bulk_edit_run

    settings.CATALOG_BULK_EDIT_BATCH_SIZE = 1
    settings.CATALOG_BULK_EDIT_TASK_SECONDS = 0
    product = complete_product(webshop, sizes=("s", "m", "l"))
    params = bulk_edit.price_params_clean(
        action=Action.PRICE_CHANGE, channel="webshop", kind="set", value="12.00"
    )
    job = bulk_edit.bulk_edit_job_create(
        action=Action.PRICE_CHANGE,
        target=Target.PRODUCT,
        object_ids=[product.id],
        params=params,
        user=merchandiser,
    )
    runs: list[int] = []
    real_run = bulk_edit.bulk_edit_job_run

    def counting_run(**kwargs: Any) -> BulkEditJob:
        runs.append(kwargs["job_id"])
        return real_run(**kwargs)

    monkeypatch.setattr(bulk_edit, "bulk_edit_job_run", counting_run)
    bulk_edit_run.delay(job.id)

    job.refresh_from_db()
    assert (job.status, job.done, runs) == (BulkEditJob.Status.SUCCEEDED, 3, [job.id] * 3)
    assert set(Price.objects.values_list("amount", flat=True)) == {Decimal("12.00")}
