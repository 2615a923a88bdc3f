"""Presentation helpers for the oversight pages."""

import html

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

from access_requests.templatetags.status_tags import grant_tag
from core.templatetags.list_filters import (
    govuk_date_time,
    iso_utc,
    pk_url_for,
    row_fragment,
    short_date,
)

register = template.Library()


@register.filter
def changes_html(event) -> str:
    """An event's changes in words (`audit.descriptions`, "Uses a pseudonym: changed from No
    to Yes") as a GOV.UK list, built in one call: the audit trail shows a page of these, and
    a template include per row would cost more than the rest of the row."""
    lines = event.change_lines
    if not lines:
        return ""
    items = "".join(
        f'<li><span class="govuk-!-font-weight-bold">{escape(line.label)}</span>: '
        f"{escape(line.text)}</li>"
        if line.label
        else f"<li>{escape(line.text)}</li>"
        for line in lines
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
                cost_agreed=html.escape(row.cost_agreed),
                review=html.escape(row.review),
                status_tag=grant_tag(row.status),
                status_label=html.escape(row.status_label),
            )
            for row in rows
        )
    )


@register.simple_tag
def audit_rows_html(rows) -> str:
    """The audit trail's table rows (`AuditRow`s): `oversight/includes/audit_row.html`
    filled in once per row, every value escaped, as `register_rows_html` does for the
    register (the markup and whitespace a `{% for %}` loop over the fragment would write)."""
    fragment = row_fragment("oversight/includes/audit_row.html")
    event_url = pk_url_for("oversight:audit-event")
    return mark_safe(  # noqa: S308  # nosec B308 B703 - the fragment is ours, every value is escaped
        "".join(
            "\n"
            + fragment.format(
                event_id=int(event.id),
                occurred_at_utc=iso_utc(event.occurred_at),
                occurred_at=govuk_date_time(event.occurred_at),
                event_url=event_url(event.id),
                actor=html.escape(event.actor_in_words),
                description=html.escape(event.description),
                about=_about_html(event),
                from_where=_from_where_html(event),
                changes=changes_html(event),
            )
            + "    "
            for event in rows
        )
    )


def _about_html(event) -> str:
    about = html.escape(event.object_repr)
    if event.object_type:
        return f"{html.escape(event.object_label)}<br>{about}"
    return about


def _from_where_html(event) -> str:
    where = html.escape(event.client_address)
    browser = event.browser
    if browser:
        where += f'<br><span class="govuk-hint govuk-!-font-size-14">{html.escape(browser)}</span>'
    return where


@register.simple_tag
def directorate_rows_html(rows) -> str:
    """ "Access in your directorate"'s table rows (`DirectorateRow`s):
    `oversight/includes/directorate_row.html` filled in once per row, every value escaped,
    as `register_rows_html` does for the register."""
    fragment = row_fragment("oversight/includes/directorate_row.html")
    grant_url = pk_url_for("access_requests:grant-detail")
    return mark_safe(  # noqa: S308  # nosec B308 B703 - the fragment is ours, every value is escaped
        "".join(
            fragment.format(
                reference=html.escape(row.grant.reference),
                holder_name=html.escape(row.grant.holder_name),
                business_unit=html.escape(row.grant.business_unit),
                grant_url=grant_url(row.grant.id),
                sites=html.escape(row.grant.sites),
                tier=html.escape(row.grant.tier),
                end_date=short_date(row.grant.end_date),
                safe_use=_safe_use_html(row.safe_use),
                status_tag=grant_tag(row.grant.status),
                status_label=html.escape(row.grant.status_label),
            )
            for row in rows
        )
    )


def _safe_use_html(safe_use) -> str:
    text = html.escape(safe_use.text)
    if safe_use.overdue:
        return f'<strong class="govuk-tag govuk-tag--red">{text}</strong>'
    return text


@register.simple_tag
def timeline_html(events) -> str:
    """A case file's timeline: `oversight/includes/timeline_event.html` filled in once per
    event (`AuditRow`s), every value escaped (the markup and whitespace a `{% for %}` loop
    over the fragment would write), without the template engine's cost per variable,
    filter and include."""
    fragment = row_fragment("oversight/includes/timeline_event.html")
    event_url = pk_url_for("oversight:audit-event")
    return mark_safe(  # noqa: S308  # nosec B308 B703 - the fragment is ours, every value is escaped
        "".join(
            "\n"
            + fragment.format(
                description=html.escape(event.description),
                occurred_at_utc=iso_utc(event.occurred_at),
                occurred_at=govuk_date_time(event.occurred_at),
                actor=html.escape(event.actor_in_words),
                on_object=f" on {html.escape(event.object_label.lower())} "
                f"{html.escape(event.object_repr)}"
                if event.object_repr
                else "",
                from_address=_from_address(event),
                event_url=event_url(event.id),
                event_id=event.id,
                changes=changes_html(event),
            )
            + "  "
            for event in events
        )
    )


def _from_address(event) -> str:
    where = [part for part in (event.client_address, event.browser) if part]
    if not where:
        return ""
    return " from " + html.escape(", ".join(where))
