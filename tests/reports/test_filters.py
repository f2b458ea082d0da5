"""Report filters: defaults, parsing, and one clear message per mistake."""

from __future__ import annotations

from datetime import date

import pytest
from django.http import QueryDict

from core.models import Channel
from reports.filters import ReportFilterError, filters_parse
from tests.reports import rollup_rows as rr

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 15)


def parse(allowed_channel_ids=None, allowed_location_ids=None, **params):
    return filters_parse(
        params,
        allowed_channel_ids=allowed_channel_ids,
        allowed_location_ids=allowed_location_ids,
        today=TODAY,
    )


def error(**params) -> ReportFilterError:
    with pytest.raises(ReportFilterError) as caught:
        parse(**params)
    assert caught.value.code == "invalid_report_filter"
    return caught.value


def test_defaults_are_the_last_30_days_by_day_without_restrictions():
    f = parse()
    assert (f.start, f.end, f.days) == (date(2026, 2, 14), TODAY, 30)
    assert f.group_by == "day"
    assert f.channel_ids is None and f.location_ids is None and f.category_id is None
    assert f.channel_codes == () and f.location_codes == () and f.category_name == ""


def test_empty_values_mean_not_given():
    assert parse(start="", end=" ", channel="", store=",", category="", group_by="") == parse()


def test_a_lone_start_runs_to_today_and_a_lone_end_covers_30_days():
    f = parse(start="2026-03-01")
    assert (f.start, f.end) == (date(2026, 3, 1), TODAY)
    f = parse(end="2026-01-31")
    assert (f.start, f.end) == (date(2026, 1, 2), date(2026, 1, 31))


def test_bad_date_format():
    failure = error(start="2026-13-01")
    assert str(failure) == "start: '2026-13-01' is not a date (YYYY-MM-DD)."
    assert failure.field == "start"
    assert error(end="20260101").field == "end"
    assert error(end="01/02/2026").message == "end: '01/02/2026' is not a date (YYYY-MM-DD)."


def test_reversed_range():
    failure = error(start="2026-03-10", end="2026-03-09")
    assert failure.message == "The end date is before the start date."
    assert failure.field == "end"


def test_the_range_may_span_1096_days_but_no_more():
    f = parse(start="2023-01-01", end="2025-12-31")  # 365 * 3 + 1 leap day
    assert f.days == 1096
    failure = error(start="2023-01-01", end="2026-01-01")
    assert failure.message == ("The range is over 3 years (1,097 days); choose at most 1,096 days.")
    assert failure.field == "start"


def test_group_by():
    assert parse(group_by="week").group_by == "week"
    assert parse(group_by="month").group_by == "month"
    failure = error(group_by="year")
    assert failure.field == "group_by"
    assert "'year'" in failure.message and "day, week or month" in failure.message


def test_channels_parse_as_a_comma_separated_list_of_codes():
    web, app = rr.channel("webshop"), rr.channel("app")
    f = parse(channel=" webshop , app,webshop,")
    assert f.channel_ids == (web.pk, app.pk)
    assert f.channel_codes == ("webshop", "app")


def test_repeated_parameters_of_a_query_dict_read_like_a_list():
    web, app = rr.channel("webshop"), rr.channel("app")
    f = filters_parse(QueryDict("channel=webshop&channel=app"), today=TODAY)
    assert f.channel_ids == (web.pk, app.pk)


def test_unknown_channel_lists_the_known_codes():
    for code in ("webshop", "app", "pos", "marketplace"):
        rr.channel(code)
    failure = error(channel="webshop,xyz")
    assert failure.field == "channel"
    assert failure.message == "Unknown channel 'xyz'. Known: app, marketplace, pos, webshop."
    assert error(channel="xyz,abc").message.startswith("Unknown channels 'xyz', 'abc'. Known:")


def test_the_known_list_stops_at_20_codes():
    for n in range(25):
        rr.channel(f"ch-{n:02d}")
    message = error(channel="nope").message
    assert "ch-19" in message and "ch-20" not in message
    assert message.endswith("and 5 more.")


def test_channels_outside_the_allowed_ones_read_as_unknown_and_are_not_revealed():
    web, secret = rr.channel("webshop"), rr.channel("secret-partner")
    failure = error(channel="secret-partner", allowed_channel_ids=[web.pk])
    assert failure.message == "Unknown channel 'secret-partner'. Known: webshop."
    assert "secret" not in failure.message.split("Known:")[1]
    assert parse(channel="webshop", allowed_channel_ids=[web.pk]).channel_ids == (web.pk,)
    assert secret.pk  # exists, yet refused


def test_without_a_choice_the_allowed_ids_apply():
    web, app = rr.channel("webshop"), rr.channel("app")
    store = rr.location("ams")
    f = parse(allowed_channel_ids={app.pk, web.pk}, allowed_location_ids=[store.pk])
    assert f.channel_ids == tuple(sorted([web.pk, app.pk]))
    assert f.location_ids == (store.pk,)
    assert f.channel_codes == ()
    assert parse(allowed_channel_ids=[]).channel_ids == ()  # nothing allowed: nothing shown


def test_stores_any_location_code():
    ams, wh = rr.location("ams"), rr.location("wh-1", kind="warehouse")
    f = parse(store="wh-1,ams")
    assert f.location_ids == (wh.pk, ams.pk)
    assert f.location_codes == ("wh-1", "ams")
    failure = error(store="rotterdam")
    assert failure.field == "store"
    assert failure.message == "Unknown store 'rotterdam'. Known: ams, wh-1."
    assert error(store="wh-1", allowed_location_ids=[ams.pk]).message == (
        "Unknown store 'wh-1'. Known: ams."
    )


def test_category():
    tree = rr.category_tree()
    f = parse(category=str(tree.shirts.pk))
    assert f.category_id == tree.shirts.pk
    assert f.category_name == "Apparel > Shirts"
    failure = error(category="99999")
    assert (failure.field, failure.message) == ("category", "Unknown category 99999.")
    failure = error(category="shirts")
    assert failure.field == "category" and "'shirts'" in failure.message


def test_the_error_carries_its_field_for_the_api():
    failure = error(start="nope")
    assert failure.status == 400
    assert failure.extra == {"field": "start"}
    assert failure.errors == [{"field": "start", "code": "invalid", "message": failure.message}]


def test_dates_far_out_are_refused_before_any_report_steps_past_them():
    early = error(start="0001-01-01", end="2026-01-10")
    assert (early.field, early.message) == (
        "start",
        "start: 0001-01-01 is out of range; choose a date from 1900-01-01 to 9998-12-31.",
    )
    assert error(start="9999-12-31").field == "start"
    assert error(end="9999-12-31").field == "end"
    assert filters_parse({"end": "1900-01-05"}).start == date(1900, 1, 1)  # the range is cut


def test_channel_kinds_do_not_matter_to_the_filter():
    pos = rr.channel("store-till", kind=Channel.Kind.POS)
    assert parse(channel="store-till").channel_ids == (pos.pk,)
