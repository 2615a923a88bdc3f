"""Presentation helpers for the oversight pages."""

import html

from django import template
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe

from access_requests.templatetags.status_tags import grant_tag
from core.templatetags.list_filters import (
    iso_utc,
    long_date,
    pk_url_for,
    row_fragment,
    short_date,
)

register = template.Library()


def _text(value) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, list):
        return ", ".join(_text(item) for item in value) or "(none)"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_text(v)}" for k, v in value.items())
    return str(value)


@register.filter
def change_lines(changes) -> list[tuple[str, str]]:
    """An event's changes as (field, "old → new") or (field, value) pairs."""
    if not isinstance(changes, dict):
        return [("", _text(changes))] if changes else []
    lines = []
    for name, value in changes.items():
        label = str(name).replace("_", " ")
        if isinstance(value, list) and len(value) == 2:
            lines.append((label, f"{_text(value[0])} → {_text(value[1])}"))
        else:
            lines.append((label, _text(value)))
    return lines


@register.filter
def changes_html(changes) -> str:
    """`change_lines` as a GOV.UK list, built in one call: the audit trail shows a page of
    these, and a template include per row would cost more than the rest of the row."""
    lines = change_lines(changes)
    if not lines:
        return ""
    items = "".join(
        f'<li><span class="govuk-!-font-weight-bold">{escape(name)}</span>: {escape(text)}</li>'
        if name
        else f"<li>{escape(text)}</li>"
        for name, text in lines
    )
    # Every value above is escaped.
    return mark_safe(  # noqa: S308  # nosec B308 B703
        f'<ul class="govuk-list govuk-!-font-size-16 govuk-!-margin-bottom-0">{items}</ul>'
    )


@register.simple_tag
def register_rows_html(rows) -> str:
    """The register's table rows: `oversight/includes/register_row.html` filled in once
    per row, every value escaped (`html.escape`, as `{{ }}` would), without the template
    engine's cost per variable, which a page of rows multiplies."""
    fragment = row_fragment("oversight/includes/register_row.html")
    case_url = pk_url_for("oversight:case-detail")
    return mark_safe(  # noqa: S308  # nosec B308 B703 - the fragment is ours, every value is escaped
        "".join(
            fragment.format(
                reference=html.escape(row.reference),
                holder_name=html.escape(row.holder_name),
                case_url=case_url(row.case_id),
                directorate=html.escape(row.directorate),
                business_unit=html.escape(row.business_unit),
                sites=html.escape(row.sites),
                tier=html.escape(row.tier),
                start_date=short_date(row.start_date),
                end_date=short_date(row.end_date),
                approver=html.escape(row.approver),
                status_tag=grant_tag(row.status),
                status_label=html.escape(row.status_label),
            )
            for row in rows
        )
    )


@register.simple_tag
def timeline_html(events) -> str:
    """A case file's timeline: `oversight/includes/timeline_event.html` filled in once per
    event, every value escaped (the markup and whitespace a `{% for %}` loop over the
    fragment would write), without the template engine's cost per variable, filter and
    include."""
    fragment = row_fragment("oversight/includes/timeline_event.html")
    return mark_safe(  # noqa: S308  # nosec B308 B703 - the fragment is ours, every value is escaped
        "".join(
            "\n"
            + fragment.format(
                action=html.escape(event.action),
                occurred_at_utc=iso_utc(event.occurred_at),
                occurred_at=_long_date_time(event.occurred_at),
                actor_label=html.escape(event.actor_label),
                on_object=f" on {html.escape(event.object_repr)}" if event.object_repr else "",
                from_address=f" from {html.escape(event.client_address)}"
                if event.client_address
                else "",
                changes=changes_html(event.changes),
            )
            + "  "
            for event in events
        )
    )


def _long_date_time(value) -> str:
    """`|date:"j F Y, H:i:s"` (27 March 2026, 14:05:09, local time), written directly."""
    value = timezone.localtime(value)
    return f"{long_date(value)}, {value:%H:%M:%S}"
