"""The filter form of the report pages: what the operator picks, and where a bad filter's message
is shown.

The form only renders the choices and carries the values: ``reports.filters.filters_parse`` is the
one judge of a filter (the same rules and messages as the API), and its ``ReportFilterError`` is
put next to the field it names. Choice fields accept any value here, so that an unknown channel
in a bookmarked URL gets the parser's message ("Unknown channel 'xyz'. Known: ...") rather than
Django's generic one.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from django import forms
from django.forms.utils import flatatt
from django.utils.safestring import SafeString, mark_safe

from catalog.models import Category
from core.models import Channel
from inventory.models import Location
from reports.access import ReportScope
from reports.filters import ReportFilterError, ReportFilters, filters_parse

GROUP_BY_CHOICES = [("day", "Day"), ("week", "Week"), ("month", "Month")]


class _AnyMultipleChoiceField(forms.MultipleChoiceField):
    """A multiple select whose values are judged by the filter parser, not by its choices."""

    def valid_value(self, value: str) -> bool:
        return True


class _AnyChoiceField(forms.ChoiceField):
    def valid_value(self, value: str) -> bool:
        return True


class _PlainSelect(forms.Select):
    """A single select whose options are written in one pass: the category tree has thousands of
    entries (the Google taxonomy has over 5,000), and Django's template per option spends
    seconds on them where a join takes milliseconds. Same HTML as ``forms.Select``."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        chosen = {str(item) for item in self.format_value(value)}
        options = []
        for option, label in self.choices:
            value_text = str(option)
            selected = " selected" if value_text in chosen else ""
            options.append(
                f'<option value="{escape(value_text)}"{selected}>{escape(str(label))}</option>'
            )
        final = self.build_attrs(self.attrs, attrs)
        return mark_safe(
            f'<select name="{escape(name)}"{flatatt(final)}>{"".join(options)}</select>'
        )


class ReportFilterForm(forms.Form):
    """Date range, channels, stores, category, and the grouping a report offers."""

    start = forms.CharField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="From"
    )
    end = forms.CharField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="To"
    )
    channel = _AnyMultipleChoiceField(
        required=False, label="Channels", help_text="None selected: every channel."
    )
    store = _AnyMultipleChoiceField(
        required=False, label="Stores", help_text="None selected: every location."
    )
    category = _AnyChoiceField(required=False, label="Category", widget=_PlainSelect)
    group_by = _AnyChoiceField(required=False, label="Group by", choices=GROUP_BY_CHOICES)
    by = _AnyChoiceField(required=False, label="By")

    def __init__(
        self,
        data: Any = None,
        *,
        scope: ReportScope,
        by_choices: Sequence[str] = (),
        group_by: bool = False,
        category: bool = True,
    ) -> None:
        super().__init__(data)
        self.scope = scope
        self.by_choices = tuple(by_choices)
        self.filters: ReportFilters | None = None
        channels = Channel.objects.order_by("code")
        if scope.channel_ids is not None:
            channels = channels.filter(id__in=scope.channel_ids)
        self._choice_field("channel").choices = [
            (code, f"{name} ({code})") for code, name in channels.values_list("code", "name")
        ]
        locations = Location.objects.order_by("code")
        if scope.location_ids is not None:
            locations = locations.filter(id__in=scope.location_ids)
        self._choice_field("store").choices = [
            (code, f"{name} ({code})") for code, name in locations.values_list("code", "name")
        ]
        if category:
            self._choice_field("category").choices = [("", "Every category")] + [
                (str(pk), "\u2003" * (depth - 1) + name)
                # the English column itself: asking for "name" makes the translation layer
                # resolve a fallback per row, a third of a second for the whole taxonomy
                for pk, name, depth in Category.objects.order_by("path").values_list(
                    "pk", "name_en", "depth"
                )
            ]
        else:
            del self.fields["category"]
        if not group_by:
            del self.fields["group_by"]
        if self.by_choices:
            self._choice_field("by").choices = [
                (choice, choice.title()) for choice in self.by_choices
            ]
        else:
            del self.fields["by"]

    def _choice_field(self, name: str) -> forms.ChoiceField:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        return field

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        params = {
            "start": data.get("start") or "",
            "end": data.get("end") or "",
            "channel": ",".join(data.get("channel") or []),
            "store": ",".join(data.get("store") or []),
            "category": data.get("category") or "",
            "group_by": data.get("group_by") or "",
        }
        by = data.get("by") or ""
        if self.by_choices and by and by not in self.by_choices:
            self.add_error(
                "by",
                f"Unknown grouping '{by}'. Choose one of: {', '.join(self.by_choices)}.",
            )
        try:
            self.filters = filters_parse(
                params,
                allowed_channel_ids=self.scope.channel_ids,
                allowed_location_ids=self.scope.location_ids,
            )
        except ReportFilterError as error:
            field = error.field if error.field in self.fields else None
            self.add_error(field, error.message)
        return data

    @property
    def chosen_by(self) -> str:
        """The grouping picked (the report's first when none was)."""
        chosen = (self.cleaned_data.get("by") or "") if hasattr(self, "cleaned_data") else ""
        return chosen or (self.by_choices[0] if self.by_choices else "")
