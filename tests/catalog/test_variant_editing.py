"""Real variant editing in the admin: options through one select per axis (product page and
variant page), the variant matrix generator, and the prices-and-stock grid."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from catalog import services
from catalog.exceptions import VariantMatrixInvalid
from catalog.models import Price, Product, Variant
from catalog.variant_matrix import variant_matrix_create, variant_matrix_plan
from config import roles
from core.events import EventType
from core.models import AuditEntry, ChangeEvent
from inventory import services as stock_services
from inventory.models import Location, StockLevel, StockMovement
from tests.catalog.factories import complete_product
from tests.factories import ChannelFactory, LocationFactory, UserFactory

pytestmark = pytest.mark.django_db


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _messages(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _options() -> dict[str, dict[str, str]]:
    return {v.sku: v.options for v in Variant.objects.order_by("sku")}


def _product_form(product: Product, **options_by_sku: dict[str, str]) -> dict[str, Any]:
    """The product page as the browser posts it, with each variant's axis selects."""
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
        options = {**variant.options, **options_by_sku.get(variant.sku, {})}
        form.update(
            {
                f"variants-{i}-id": variant.pk,
                f"variants-{i}-product": product.pk,
                f"variants-{i}-sku": variant.sku,
                f"variants-{i}-gtin": variant.gtin,
                f"variants-{i}-option__size": options.get("size", ""),
                f"variants-{i}-option__color": options.get("color", ""),
                f"variants-{i}-weight_grams": "",
                f"variants-{i}-position": variant.position,
                f"variants-{i}-cost_price": "",
            }
        )
    return form


# --- one select per axis ------------------------------------------------------------------------


def test_the_product_page_offers_one_select_per_axis_instead_of_json(webshop, merchandiser) -> None:  # type: ignore[no-untyped-def]
    product = complete_product(webshop)
    page = _client(merchandiser).get(reverse("admin:catalog_product_change", args=[product.pk]))
    html = page.content.decode()
    assert '<select name="variants-0-option__size"' in html
    assert '<select name="variants-0-option__color"' in html
    assert '<option value="s" selected>S</option>' in html  # the variant's own value chosen
    assert '<option value="white">White</option>' in html  # the axis's other options offered
    assert 'name="variants-0-options"' not in html  # no raw JSON any more
    assert "Generate variants from axis values" in html
    assert reverse("admin:catalog_product_variant_grid", args=[product.pk]) in html


def test_a_select_changes_the_options_through_the_service(webshop, merchandiser) -> None:  # type: ignore[no-untyped-def]
    product = complete_product(webshop)
    history_before = Variant.history.count()  # type: ignore[attr-defined]
    response = _client(merchandiser).post(
        reverse("admin:catalog_product_change", args=[product.pk]),
        _product_form(product, **{"ORGANIC-TEE-M": {"color": "white"}}),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert _options()["ORGANIC-TEE-M"] == {"size": "m", "color": "white"}
    assert Variant.history.count() == history_before + 1  # type: ignore[attr-defined]


def test_an_option_the_axis_does_not_know_is_refused_naming_axis_and_value(
    webshop, merchandiser
) -> None:  # type: ignore[no-untyped-def]
    product = complete_product(webshop)
    before = _options()
    response = _client(merchandiser).post(
        reverse("admin:catalog_product_change", args=[product.pk]),
        _product_form(
            product,
            **{"ORGANIC-TEE-S": {"size": "xxl"}, "ORGANIC-TEE-M": {"color": "white"}},
        ),
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Size: “xxl” is not an option of this axis (options: s, m, l)." in html
    assert _options() == before  # the valid change on the other row was not saved either


def test_two_rows_with_the_same_options_are_refused(webshop, merchandiser) -> None:  # type: ignore[no-untyped-def]
    product = complete_product(webshop)
    before = _options()
    response = _client(merchandiser).post(
        reverse("admin:catalog_product_change", args=[product.pk]),
        _product_form(product, **{"ORGANIC-TEE-M": {"size": "s"}}),
    )
    assert response.status_code == 200
    assert "ORGANIC-TEE-M has the same options as ORGANIC-TEE-S" in response.content.decode()
    assert _options() == before


def test_the_variant_page_has_axis_selects_and_refuses_unknown_values(
    webshop, merchandiser
) -> None:  # type: ignore[no-untyped-def]
    product = complete_product(webshop)
    variant = product.variants.get(sku="ORGANIC-TEE-S")
    client = _client(merchandiser)
    url = reverse("admin:catalog_variant_change", args=[variant.pk])
    html = client.get(url).content.decode()
    assert '<select name="option__size"' in html and 'name="options"' not in html
    form = {
        "sku": variant.sku,
        "gtin": "",
        "option__size": "s",
        "option__color": "purple",
        "attributes": "{}",
        "weight_grams": "",
        "cost_price": "",
        "position": 0,
        "prices-TOTAL_FORMS": 0,
        "prices-INITIAL_FORMS": 0,
        "media-TOTAL_FORMS": 0,
        "media-INITIAL_FORMS": 0,
    }
    refused = client.post(url, form)
    assert refused.status_code == 200
    assert "Colour: “purple” is not an option of this axis" in refused.content.decode()
    assert Variant.objects.get(pk=variant.pk).options == {"size": "s", "color": "navy"}
    saved = client.post(url, {**form, "option__color": "white"})
    assert saved.status_code == 302, saved.content.decode()[:3000]
    assert Variant.objects.get(pk=variant.pk).options == {"size": "s", "color": "white"}


# --- the variant matrix -------------------------------------------------------------------------


def test_the_matrix_plan_names_skus_by_rule_and_skips_existing_combinations(webshop) -> None:  # type: ignore[no-untyped-def]
    product = complete_product(webshop)  # has S/navy and M/navy
    plan = variant_matrix_plan(product=product, values={"size": ["l", "s"], "color": ["navy"]})
    assert [(row.label, row.sku) for row in plan.new] == [("L / Navy", "ORGANIC-TEE-L-NAVY")]
    assert [(row.label, row.existing_sku) for row in plan.existing] == [
        ("S / Navy", "ORGANIC-TEE-S")
    ]
    with pytest.raises(VariantMatrixInvalid) as refused:
        variant_matrix_plan(product=product, values={"size": ["xxl"], "fit": ["slim"]})
    assert [e["message"] for e in refused.value.errors] == [
        "'fit' is not a variant axis of T-shirt.",
        "Size: 'xxl' is not an option of this axis.",
        "Colour: pick at least one value.",
    ]


def test_the_matrix_creates_through_the_service_all_or_nothing(webshop, merchandiser) -> None:  # type: ignore[no-untyped-def]
    product = complete_product(webshop)
    services.product_submit(product_ids=[product.pk])
    services.product_approve(product_ids=[product.pk])
    values = {"size": ["s", "m", "l"], "color": ["navy", "white"]}
    # a SKU that another variant has: nothing is created
    with pytest.raises(VariantMatrixInvalid) as refused:
        variant_matrix_create(
            product=product,
            values=values,
            skus={"size=l&color=white": "ORGANIC-TEE-S"},
            user=merchandiser,
        )
    assert refused.value.errors == [
        {
            "field": "size=l&color=white",
            "code": "invalid_sku",
            "message": "SKU ORGANIC-TEE-S is already used by another variant.",
        }
    ]
    assert product.variants.count() == 2
    created = variant_matrix_create(
        product=product, values=values, skus={"size=l&color=white": "TEE-L-W"}, user=merchandiser
    )
    assert [(v.sku, v.options, v.position, v.gtin) for v in created] == [
        ("ORGANIC-TEE-S-WHITE", {"size": "s", "color": "white"}, 2, ""),
        ("ORGANIC-TEE-M-WHITE", {"size": "m", "color": "white"}, 3, ""),
        ("ORGANIC-TEE-L-NAVY", {"size": "l", "color": "navy"}, 4, ""),
        ("TEE-L-W", {"size": "l", "color": "white"}, 5, ""),
    ]
    product.refresh_from_db()
    assert product.status == Product.Status.IN_REVIEW  # new variants need a new review
    assert Variant.history.filter(sku="TEE-L-W", history_type="+").count() == 1  # type: ignore[attr-defined]
    missing = product.completeness.get(channel=webshop).missing
    assert any("EUR price" in item and "TEE-L-W" in item for item in missing)


def test_the_matrix_pages_preview_then_confirm(webshop, merchandiser) -> None:  # type: ignore[no-untyped-def]
    product = complete_product(webshop)
    client = _client(merchandiser)
    url = reverse("admin:catalog_product_variant_matrix", args=[product.pk])
    page = client.get(url).content.decode()
    assert 'name="value:size" value="s" checked' in page  # values in use come checked
    assert 'name="value:color" value="white">' in page
    picked = {"value:size": ["s", "l"], "value:color": ["navy"]}
    preview = client.post(url, {**picked, "preview": "Preview"}).content.decode()
    assert 'name="sku:size=l&amp;color=navy" value="ORGANIC-TEE-L-NAVY"' in preview
    assert "S / Navy: ORGANIC-TEE-S" in preview  # skipped and listed
    assert product.variants.count() == 2  # a preview writes nothing
    done = client.post(
        url, {**picked, "confirm": "Create", "sku:size=l&color=navy": "ORGANIC-TEE-LARGE"}
    )
    assert done.status_code == 302
    assert _messages(done) == [
        "1 variant(s) created; 1 combination(s) already existed and were skipped."
    ]
    assert product.variants.get(sku="ORGANIC-TEE-LARGE").options == {"size": "l", "color": "navy"}


def test_the_matrix_page_refuses_a_crafted_value_and_needs_the_add_permission(
    webshop, merchandiser
) -> None:  # type: ignore[no-untyped-def]
    product = complete_product(webshop)
    url = reverse("admin:catalog_product_variant_matrix", args=[product.pk])
    crafted = _client(merchandiser).post(
        url, {"value:size": ["xl"], "value:color": ["navy"], "confirm": "Create"}
    )
    assert "Size: &#x27;xl&#x27; is not an option of this axis." in crafted.content.decode()
    assert product.variants.count() == 2
    viewer = cast(User, UserFactory(username="viewer", is_staff=True))
    viewer.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_product", "view_variant"])
    )
    assert _client(viewer).get(url).status_code == 403


# --- the prices-and-stock grid ------------------------------------------------------------------


@pytest.fixture
def stocked(webshop: Any) -> dict[str, Any]:
    """A tee with S and M at 19.99 EUR on the webshop, 5 S in the warehouse, and a store."""
    product = complete_product(webshop)
    warehouse = cast(Location, LocationFactory(code="wh", kind="warehouse"))
    store = cast(Location, LocationFactory(code="ams"))
    s = product.variants.get(sku="ORGANIC-TEE-S")
    m = product.variants.get(sku="ORGANIC-TEE-M")
    stock_services.stock_count(variant_id=s.pk, location_id=warehouse.pk, on_hand=5)
    return {"product": product, "s": s, "m": m, "wh": warehouse, "ams": store}


def _user(*role_names: str, username: str) -> User:
    user = cast(User, UserFactory(username=username))
    for role in role_names:
        user.groups.add(Group.objects.get(name=role))
    return User.objects.get(pk=user.pk)


def _grid_url(product: Product) -> str:
    return reverse("admin:catalog_product_variant_grid", args=[product.pk])


def _state() -> tuple[Any, ...]:
    prices = tuple(
        Price.objects.order_by("variant__sku", "channel__code").values_list(
            "variant__sku", "channel__code", "amount"
        )
    )
    stock = tuple(
        StockLevel.objects.order_by("variant__sku", "location__code").values_list(
            "variant__sku", "location__code", "on_hand"
        )
    )
    return prices, stock, StockMovement.objects.count()


def test_the_grid_shows_prices_with_their_currency_and_stock_per_location(stocked) -> None:  # type: ignore[no-untyped-def]
    both = _user(roles.MERCHANDISER, roles.INVENTORY_MANAGER, username="both")
    ChannelFactory(code="app", currency="GBP")  # neither published nor priced: no column
    response = _client(both).get(_grid_url(stocked["product"]))
    html = response.content.decode()
    grid = response.context["grid"]
    assert [(c.kind, c.title, c.unit) for c in grid.columns] == [
        ("price", "webshop", "EUR"),
        ("stock", "ams", "units"),
        ("stock", "wh", "units"),
    ]
    assert [(row.sku, row.label, [c.shown for c in row.cells]) for row in grid.rows] == [
        ("ORGANIC-TEE-S", "S / Navy", ["19.99", "", "5"]),
        ("ORGANIC-TEE-M", "M / Navy", ["19.99", "", ""]),
    ]
    assert "webshop (EUR)" in html
    s = stocked["s"]
    channel_id = s.prices.get().channel_id
    assert f'name="price:{s.pk}:{channel_id}:EUR" value="19.99"' in html
    assert '<span class="unit">EUR</span>' in html
    # another channel can be added as a column
    more = _client(both).get(_grid_url(stocked["product"]) + "?channel=app")
    assert ("price", "app", "GBP") in [
        (c.kind, c.title, c.unit) for c in more.context["grid"].columns
    ]


def test_the_grid_saves_a_price_and_a_count_through_the_services(stocked) -> None:  # type: ignore[no-untyped-def]
    both = _user(roles.MERCHANDISER, roles.INVENTORY_MANAGER, username="both")
    s, wh, ams = stocked["s"], stocked["wh"], stocked["ams"]
    channel_id = s.prices.get().channel_id
    price_cell = f"price:{s.pk}:{channel_id}:EUR"
    events_before = ChangeEvent.objects.filter(topic=EventType.PRICE_CHANGED).count()
    response = _client(both).post(
        _grid_url(stocked["product"]),
        {
            "reason": "cycle count",
            price_cell: "21.50",
            f"was:{price_cell}": "19.99",
            f"stock:{s.pk}:{ams.pk}": "3",
            f"was:stock:{s.pk}:{ams.pk}": "",
            f"stock:{s.pk}:{wh.pk}": "5",  # unchanged: no movement
            f"was:stock:{s.pk}:{wh.pk}": "5",
        },
    )
    assert response.status_code == 302
    assert _messages(response) == ["Saved 1 price(s) and 1 stock count(s)."]
    assert Price.objects.get(variant=s).amount == Decimal("21.50")
    assert Price.history.filter(variant_id=s.pk).count() == 2  # type: ignore[attr-defined]
    assert ChangeEvent.objects.filter(topic=EventType.PRICE_CHANGED).count() == events_before + 1
    movement = StockMovement.objects.get(stock__location=ams)
    assert (movement.kind, movement.on_hand_delta, movement.reason, movement.actor_user_id) == (
        "count",
        3,
        "cycle count",
        both.pk,
    )
    assert StockLevel.objects.get(variant=s, location=ams).on_hand == 3
    assert AuditEntry.objects.filter(action="price_change", actor_user=both).count() == 1


def test_bad_cells_get_their_own_error_and_nothing_is_saved(stocked) -> None:  # type: ignore[no-untyped-def]
    both = _user(roles.MERCHANDISER, roles.INVENTORY_MANAGER, username="both")
    s, m, wh = stocked["s"], stocked["m"], stocked["wh"]
    channel_id = s.prices.get().channel_id
    before = _state()
    response = _client(both).post(
        _grid_url(stocked["product"]),
        {
            "reason": "count",
            f"price:{s.pk}:{channel_id}:EUR": "twelve",
            f"was:price:{s.pk}:{channel_id}:EUR": "19.99",
            f"price:{m.pk}:{channel_id}:EUR": "18.00",  # valid, but the save is all or nothing
            f"was:price:{m.pk}:{channel_id}:EUR": "19.99",
            f"stock:{m.pk}:{wh.pk}": "-4",
            f"was:stock:{m.pk}:{wh.pk}": "",
        },
    )
    assert response.status_code == 200
    errors = {
        cell.name: cell.error
        for row in response.context["grid"].rows
        for cell in row.cells
        if cell.error
    }
    assert errors == {
        f"price:{s.pk}:{channel_id}:EUR": "“twelve” is not a price: enter an amount such as 19.99.",
        f"stock:{m.pk}:{wh.pk}": "Stock on hand cannot be negative.",
    }
    html = response.content.decode()
    assert 'value="twelve"' in html and 'value="18.00"' in html  # what was typed stays
    assert _state() == before


def test_a_refusal_by_a_service_rolls_back_the_other_cells(stocked) -> None:  # type: ignore[no-untyped-def]
    both = _user(roles.MERCHANDISER, roles.INVENTORY_MANAGER, username="both")
    s, wh = stocked["s"], stocked["wh"]
    channel_id = s.prices.get().channel_id
    StockLevel.objects.filter(variant=s, location=wh).update(committed=4)  # sold, not shipped
    before = _state()
    response = _client(both).post(
        _grid_url(stocked["product"]),
        {
            "reason": "count",
            f"price:{s.pk}:{channel_id}:EUR": "25.00",
            f"was:price:{s.pk}:{channel_id}:EUR": "19.99",
            f"stock:{s.pk}:{wh.pk}": "2",  # below the 4 committed units
            f"was:stock:{s.pk}:{wh.pk}": "5",
        },
    )
    assert response.status_code == 200
    [cell] = [c for row in response.context["grid"].rows for c in row.cells if c.error]
    assert cell.name == f"stock:{s.pk}:{wh.pk}"
    assert _state() == before  # the price saved before the refusal was rolled back
    assert not AuditEntry.objects.filter(action="price_change", actor_user=both).exists()


def test_a_cell_changed_meanwhile_is_not_overwritten(stocked) -> None:  # type: ignore[no-untyped-def]
    both = _user(roles.MERCHANDISER, roles.INVENTORY_MANAGER, username="both")
    s, wh = stocked["s"], stocked["wh"]
    stock_services.stock_count(variant_id=s.pk, location_id=wh.pk, on_hand=7)  # someone else
    response = _client(both).post(
        _grid_url(stocked["product"]),
        {"reason": "count", f"stock:{s.pk}:{wh.pk}": "6", f"was:stock:{s.pk}:{wh.pk}": "5"},
    )
    assert response.status_code == 200
    [cell] = [c for row in response.context["grid"].rows for c in row.cells if c.error]
    assert cell.error == "Changed meanwhile (now 7): reload the grid."
    assert StockLevel.objects.get(variant=s, location=wh).on_hand == 7


def test_without_a_permission_that_column_is_read_only(stocked, merchandiser) -> None:  # type: ignore[no-untyped-def]
    s, wh = stocked["s"], stocked["wh"]
    channel_id = s.prices.get().channel_id
    url = _grid_url(stocked["product"])
    # a merchandiser edits prices, sees stock read-only
    page = _client(merchandiser).get(url)
    html = page.content.decode()
    assert f'name="price:{s.pk}:{channel_id}:EUR"' in html
    assert f'name="stock:{s.pk}:{wh.pk}"' not in html and "Stock is read-only for you" in html
    before = _state()
    crafted = _client(merchandiser).post(
        url, {"reason": "x", f"stock:{s.pk}:{wh.pk}": "9", f"was:stock:{s.pk}:{wh.pk}": "5"}
    )
    assert crafted.status_code == 200 and _state() == before
    assert "You may not record stock counts." in crafted.content.decode()
    # an inventory manager counts stock, sees prices read-only
    manager = _user(roles.INVENTORY_MANAGER, username="stock")
    html = _client(manager).get(url).content.decode()
    assert f'name="stock:{s.pk}:{wh.pk}"' in html
    assert f'name="price:{s.pk}:{channel_id}:EUR"' not in html and "Prices are read-only" in html
    crafted = _client(manager).post(
        url,
        {f"price:{s.pk}:{channel_id}:EUR": "1.00", f"was:price:{s.pk}:{channel_id}:EUR": "19.99"},
    )
    assert "You may not change prices." in crafted.content.decode() and _state() == before
    # a user who reads neither variants nor stock does not see the grid
    nobody = cast(User, UserFactory(username="nobody", is_staff=True))
    assert _client(nobody).get(url).status_code == 403


def test_the_grid_reads_a_fixed_number_of_queries(
    webshop, merchandiser, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    LocationFactory(code="wh", kind="warehouse")
    small = complete_product(webshop, name="Small Tee", sizes=("s",))
    big = complete_product(webshop, name="Big Tee", sizes=("s", "m", "l"))
    client = _client(merchandiser)
    with django_assert_max_num_queries(40) as few:
        assert client.get(_grid_url(small)).status_code == 200
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(_grid_url(big)).status_code == 200


# --- review fixes: swaps, refusals, locks, query counts, one event per save ---------------------


def test_swapping_the_options_of_two_rows_saves_both(webshop, merchandiser) -> None:  # type: ignore[no-untyped-def]
    product = complete_product(webshop)
    history_before = Variant.history.count()  # type: ignore[attr-defined]
    response = _client(merchandiser).post(
        reverse("admin:catalog_product_change", args=[product.pk]),
        _product_form(
            product,
            **{"ORGANIC-TEE-S": {"size": "m"}, "ORGANIC-TEE-M": {"size": "s"}},
        ),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert _options() == {
        "ORGANIC-TEE-M": {"size": "s", "color": "navy"},
        "ORGANIC-TEE-S": {"size": "m", "color": "navy"},
    }
    # one history row per saved variant, none for moving the options out of the way
    assert Variant.history.count() == history_before + 2  # type: ignore[attr-defined]


def test_a_refusal_by_the_variant_service_is_a_message_not_a_server_error(
    webshop, merchandiser
) -> None:  # type: ignore[no-untyped-def]
    product = complete_product(webshop)
    form = _product_form(product, **{"ORGANIC-TEE-S": {"size": "l"}})  # the page as loaded
    form["name"] = "Renamed Tee"
    # meanwhile someone else generates L / Navy: the row no longer fits
    services.variant_save(
        product=product, sku="ORGANIC-TEE-L", options={"size": "l", "color": "navy"}
    )
    before = _options()
    client = _client(merchandiser)
    client.raise_request_exception = False
    url = reverse("admin:catalog_product_change", args=[product.pk])
    response = client.post(url, form)
    assert response.status_code == 302 and response["Location"] == url
    assert _messages(response) == [
        "Nothing was saved: ORGANIC-TEE-S: Variant with this Product and Options already exists."
    ]
    assert _options() == before
    assert Product.objects.get(pk=product.pk).name == product.name  # the product rolled back too


def test_a_price_changed_meanwhile_is_not_overwritten(stocked) -> None:  # type: ignore[no-untyped-def]
    both = _user(roles.MERCHANDISER, roles.INVENTORY_MANAGER, username="both")
    s, m = stocked["s"], stocked["m"]
    channel = s.prices.get().channel
    services.price_set(variant_id=s.pk, channel_code=channel.code, amount="21.00")  # someone else
    events = ChangeEvent.objects.count()
    response = _client(both).post(
        _grid_url(stocked["product"]),
        {
            f"price:{s.pk}:{channel.pk}:EUR": "25.00",
            f"was:price:{s.pk}:{channel.pk}:EUR": "19.99",
            f"price:{m.pk}:{channel.pk}:EUR": "18.00",
            f"was:price:{m.pk}:{channel.pk}:EUR": "19.99",
        },
    )
    assert response.status_code == 200
    errors = [
        (c.name, c.error) for row in response.context["grid"].rows for c in row.cells if c.error
    ]
    assert errors == [
        (f"price:{s.pk}:{channel.pk}:EUR", "Changed meanwhile (now 21.00): reload the grid.")
    ]
    assert (s.prices.get().amount, m.prices.get().amount) == (Decimal("21.00"), Decimal("19.99"))
    assert ChangeEvent.objects.count() == events
    assert not AuditEntry.objects.filter(action="price_change", actor_user=both).exists()


def test_the_grid_records_one_price_event_per_channel_per_save(stocked) -> None:  # type: ignore[no-untyped-def]
    both = _user(roles.MERCHANDISER, roles.INVENTORY_MANAGER, username="both")
    s, m = stocked["s"], stocked["m"]
    channel = s.prices.get().channel
    before = set(ChangeEvent.objects.values_list("pk", flat=True))
    response = _client(both).post(
        _grid_url(stocked["product"]),
        {
            f"price:{s.pk}:{channel.pk}:EUR": "25.00",
            f"was:price:{s.pk}:{channel.pk}:EUR": "19.99",
            f"price:{m.pk}:{channel.pk}:EUR": "26.00",
            f"was:price:{m.pk}:{channel.pk}:EUR": "19.99",
        },
    )
    assert response.status_code == 302
    [event] = ChangeEvent.objects.exclude(pk__in=before).filter(topic=EventType.PRICE_CHANGED)
    assert event.channel_code == channel.code
    assert {sku: p["amount"] for sku, p in event.payload["prices"].items()} == {
        "ORGANIC-TEE-S": "25.00",
        "ORGANIC-TEE-M": "26.00",
    }
    assert AuditEntry.objects.filter(action="price_change", actor_user=both).count() == 2
    # price_set alone still records its own event
    services.price_set(variant_id=s.pk, channel_code=channel.code, amount="24.00")
    assert (
        ChangeEvent.objects.exclude(pk__in=before).filter(topic=EventType.PRICE_CHANGED).count()
        == 2
    )


def test_the_matrix_costs_about_the_same_queries_for_2_or_12_variants(webshop) -> None:  # type: ignore[no-untyped-def]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from catalog.models import Attribute, AttributeOption

    small = complete_product(webshop, name="Small Tee", sizes=("s",))
    big = complete_product(webshop, name="Big Tee", sizes=("s",))
    size = Attribute.objects.get(code="size")
    for i in range(3):
        AttributeOption.objects.create(attribute=size, code=f"x{i}", label=f"X{i}", position=10 + i)
    with CaptureQueriesContext(connection) as two:
        made = variant_matrix_create(product=small, values={"size": ["m", "l"], "color": ["navy"]})
    assert len(made) == 2
    with CaptureQueriesContext(connection) as twelve:
        made = variant_matrix_create(
            product=big,
            values={"size": ["s", "m", "l", "x0", "x1", "x2"], "color": ["navy", "white"]},
        )
    assert len(made) == 11  # S / Navy existed
    assert len(twelve.captured_queries) <= len(two.captured_queries) + 4
    # still one history row per variant, and the product's follow-up ran
    assert Variant.history.filter(product_id=big.pk, history_type="+").count() == 12  # type: ignore[attr-defined]
    missing = big.completeness.get(channel=webshop).missing
    assert missing == [
        "a EUR price on BIG-TEE-S-WHITE, BIG-TEE-M-NAVY, BIG-TEE-M-WHITE, BIG-TEE-L-NAVY, "
        "BIG-TEE-L-WHITE and 6 more"
    ]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_price_saved_while_the_grid_waits_for_the_lock_is_not_overwritten(webshop) -> None:  # type: ignore[no-untyped-def]
    import threading
    import time

    from django.db import connection, connections, transaction

    from inventory.admin_grid import variant_grid_build, variant_grid_save

    # given the grid as a merchandiser loaded it (S at 19.99)
    product = complete_product(webshop)
    s = product.variants.get(sku="ORGANIC-TEE-S")
    cell = f"price:{s.pk}:{webshop.pk}:EUR"
    boss = cast(User, UserFactory(username="boss", is_staff=True, is_superuser=True))
    grid = variant_grid_build(product=product, can_price=True, can_stock=True)
    locked, commit = threading.Event(), threading.Event()
    outcome: dict[str, Any] = {}

    def other_merchandiser() -> None:  # sets 21.00 and holds the variant lock a moment
        try:
            with transaction.atomic():
                services.price_set(variant_id=s.pk, channel_code="webshop", amount="21.00")
                locked.set()
                commit.wait(timeout=20)
        finally:
            connections.close_all()

    def grid_save() -> None:
        try:
            outcome["saved"] = variant_grid_save(
                grid=grid, data={cell: "25.00", f"was:{cell}": "19.99"}, user=boss, reference="t"
            )
        finally:
            connections.close_all()

    other = threading.Thread(target=other_merchandiser)
    other.start()
    assert locked.wait(timeout=20)
    saver = threading.Thread(target=grid_save)
    saver.start()
    # when the grid's save is waiting for the variant lock, the other save commits
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                break
        time.sleep(0.05)
    commit.set()
    other.join(timeout=30)
    saver.join(timeout=30)
    # then the grid compared under the lock: refused, 21.00 kept
    assert outcome["saved"] == (-1, -1)
    assert grid.cell(cell).error == "Changed meanwhile (now 21.00): reload the grid."  # type: ignore[union-attr]
    assert Price.objects.get(variant=s).amount == Decimal("21.00")
