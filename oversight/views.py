"""The oversight wing: read-only pages for admins and auditors.

Every view is GET-only (`require_safe`) and behind a view permission that admins and
auditors hold (the page of failed email: admins only); everyone else gets 403.
"""

import dataclasses
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.decorators import permission_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from core.replica import reads_from_replica, replica_configured, replica_status, wrote_recently
from people.models import Role
from people.roles import load_roles

from . import charts, csv_export, register_export, report_exports
from .drawn_forms import cache_key as _cache_key, filter_form_html as _filter_form_html
from .forms import STATUS_CHOICES, AuditFilterForm, RegisterFilterForm, ReportPeriodForm
from .pagination import SortKey, link as _link, page_or_404 as _page_or_404, parse_id
from .selectors import (
    audit_trail as audit_selectors,
    case_file as case_selectors,
    failed_emails as failed_email_selectors,
    register as register_selectors,
    reports,
)
from .selectors.register_prepared import prepared_register

VIEW_REGISTER = "access_requests.view_accessgrant"
VIEW_TRAIL = "audit.view_auditevent"

AUDIT_KEYS = [SortKey("id", parse_id)]
EMAIL_KEYS = [SortKey("id", parse_id)]


# Longer addresses than this are refused by Django's redirect (DisallowedRedirect) and by
# some browsers and proxies.
MAX_REDIRECT_LENGTH = 2000


def _back_to_filters(url_name: str, form, request, page_view):
    """A CSV export with filters in error goes back to its page, which shows the errors.

    Filters too long to put in an address (a search of thousands of characters) are shown
    with their errors on a 400 page at the export's address instead."""
    url = _link(url_name, form.filters_as_query())
    if len(url) <= MAX_REDIRECT_LENGTH:
        return HttpResponseRedirect(url)
    response = page_view(request)
    response.status_code = 400
    return response


def _register_form(request) -> RegisterFilterForm:
    return RegisterFilterForm(request.GET)


# A count past the cap reads 10,001 index entries to say "more than 10,000": the default
# register (every current grant) says it on every page. A result that large does not fall
# under the cap in a minute's time, so "more than" is kept for a minute per combination of
# filters (each process's local-memory cache, like the filter form); exact counts never are.
LARGE_COUNT_CACHE_SECONDS = 60


def _register_count(count_to: Callable[[int], int], query: dict, cap: int) -> int:
    filters = {key: value for key, value in query.items() if key not in {"sort", "apply"}}
    key = _cache_key("register-large-count", filters)
    if cache.get(key):
        return cap + 1
    count = count_to(cap)
    if count > cap:
        cache.set(key, True, LARGE_COUNT_CACHE_SECONDS)
    return count


def _register_page(request, filters):
    """The register's page for `filters` and how to count the grants they match: from
    prepared statements for the filters most asked for (`register_prepared`), else from
    queries built for these filters."""
    keys, descending = register_selectors.register_keys(filters.sort)
    prepared = prepared_register(filters)
    if prepared is not None:
        page = _page_or_404(
            None, request, keys=keys, descending=descending, rows_from=prepared.rows
        )
        return page, prepared.count
    filtered = register_selectors.register_filtered(filters)
    by_holder = filters.sort in register_selectors.SORT_BY_HOLDER
    grants = register_selectors.register_page_values(
        register_selectors.register_page_source(filtered, by_holder=by_holder),
        by_holder=by_holder,
    )
    page = _page_or_404(
        grants,
        request,
        keys=keys,
        descending=descending,
        # By end date, a page's keys come from grant_current_end_idx alone.
        keys_from=None if by_holder else filtered,
    )
    return page, lambda cap: register_selectors.count_capped(filtered, cap)


@reads_from_replica
@require_safe
@permission_required(VIEW_REGISTER, raise_exception=True)
def register(request):
    form = _register_form(request)
    query = form.filters_as_query() if form.is_bound else {}
    context = {"form": form, "query": query}
    if form.is_valid():
        filters = form.to_filters()
        cap = register_selectors.count_cap(filters)
        page, count_to = _register_page(request, filters)
        page = dataclasses.replace(page, rows=register_selectors.register_rows(page.rows))
        context.update(
            filters=filters,
            page=page,
            count=_register_count(count_to, query, cap),
            count_cap=cap,
            next_url=page.next_cursor
            and _link("oversight:register", query, after=page.next_cursor),
            previous_url=page.previous_cursor
            and _link("oversight:register", query, before=page.previous_cursor),
            csv_url=_link("oversight:register-csv", query),
            sort_links=_sort_links(query, filters.sort),
            filtered=bool(set(query) - {"sort", "apply"}),
            status_label=dict(STATUS_CHOICES).get(filters.status, ""),
        )
    context["filter_form_html"] = _filter_form_html(form, query)
    context["replica_note"] = _replica_note(request)
    return render(request, "oversight/register.html", context)


def _replica_note(request) -> dict | None:
    """For admins, where the page was read from and how far behind the replica is."""
    if not replica_configured() or not request.user.has_role(Role.ADMIN):
        return None
    status = replica_status()
    reads = getattr(request, "reads_on_replica", None)
    return {
        "on_replica": bool(reads and reads.on_replica),
        "answering": status.answering,
        "lag_seconds": status.lag_seconds,
        "max_lag_seconds": settings.SNS_REPLICA_MAX_LAG_SECONDS,
        "own_change": wrote_recently(request),
    }


def _sort_links(query: dict, current: str) -> dict:
    """Column header links: choosing a column sorts by it; choosing it again reverses."""
    links = {}
    for column in ("holder", "end_date"):
        ascending = current != column
        sort = column if ascending else f"-{column}"
        state = (
            "ascending"
            if current == column
            else "descending"
            if current == f"-{column}"
            else "none"
        )
        links[column] = {
            "url": _link("oversight:register", {**query, "sort": sort}),
            "state": state,
        }
    return links


@reads_from_replica
@require_safe
@permission_required(VIEW_REGISTER, raise_exception=True)
def register_csv(request):
    form = _register_form(request)
    if not form.is_valid():
        return _back_to_filters("oversight:register", form, request, register)
    filters = form.to_filters()
    grants = register_selectors.register_sorted(filters)
    stamp = timezone.localtime().strftime("%Y-%m-%d-%H%M")
    return csv_export.csv_response(
        filename=f"register-{stamp}.csv",
        content=register_export.register_csv(grants),
    )


@reads_from_replica
@require_safe
@permission_required(VIEW_REGISTER, raise_exception=True)
def case_detail(request, pk: int):
    case_file = case_selectors.case_file(pk=pk)
    if case_file is None:
        raise Http404("No such case")
    return render(
        request,
        "oversight/case_detail.html",
        {"file": case_file, "case": case_file.case, "grant": case_file.grant},
    )


@reads_from_replica
@require_safe
@permission_required(VIEW_TRAIL, raise_exception=True)
def audit_trail(request):
    form = AuditFilterForm(request.GET)
    query = form.filters_as_query()
    context = {"form": form, "query": query}
    if form.is_valid():
        events = audit_selectors.audit_page_values(audit_selectors.audit_events(form.to_filters()))
        page = _page_or_404(events, request, keys=AUDIT_KEYS, descending=True)
        page = dataclasses.replace(page, rows=audit_selectors.audit_rows(page.rows))
        context.update(
            page=page,
            next_url=page.next_cursor
            and _link("oversight:audit-trail", query, after=page.next_cursor),
            previous_url=page.previous_cursor
            and _link("oversight:audit-trail", query, before=page.previous_cursor),
            csv_url=_link("oversight:audit-trail-csv", query),
            filtered=bool(set(query) - {"apply"}),
        )
    context["filter_form_html"] = _filter_form_html(form, query, "audit-trail")
    return render(request, "oversight/audit_trail.html", context)


@reads_from_replica
@require_safe
@permission_required(VIEW_TRAIL, raise_exception=True)
def audit_event(request, pk: int):
    event = audit_selectors.audit_event(pk=pk)
    if event is None:
        raise Http404("No such event")
    return render(request, "oversight/audit_event.html", {"event": event})


@reads_from_replica
@require_safe
@permission_required(VIEW_TRAIL, raise_exception=True)
def audit_trail_csv(request):
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return _back_to_filters("oversight:audit-trail", form, request, audit_trail)
    events = audit_selectors.audit_events(form.to_filters()).order_by("-id")
    stamp = timezone.localtime().strftime("%Y-%m-%d-%H%M")
    return csv_export.csv_response(
        filename=f"audit-trail-{stamp}.csv",
        header=csv_export.AUDIT_HEADER,
        rows=csv_export.audit_rows(events),
    )


@reads_from_replica
@require_safe
@permission_required(VIEW_REGISTER, raise_exception=True)
def reports_page(request):
    form = ReportPeriodForm(request.GET)
    period = form.to_period()
    query = form.filters_as_query() if form.is_valid() else {}
    query.pop("apply", None)
    per_month = reports.cases_per_month(period=period)
    decision_times = reports.time_to_decision_by_directorate(period=period)
    by_tier = reports.active_grants_by_tier()
    by_site = reports.active_grants_by_site()
    pcs = reports.standalone_pcs_by_business_unit()
    context = {
        "per_month": per_month,
        "per_month_chart": charts.column_chart(
            chart_id="cases-per-month",
            title="Cases submitted, approved and rejected per month",
            categories=[row.month.strftime("%b %y") for row in per_month],
            series={
                "Submitted": [row.submitted for row in per_month],
                "Approved": [row.approved for row in per_month],
                "Rejected": [row.rejected for row in per_month],
            },
        ),
        "decision_times": decision_times,
        "decision_chart": charts.bar_chart(
            chart_id="time-to-decision",
            title="Days from submission to decision, by directorate",
            categories=[row.directorate for row in decision_times],
            series={
                "Median": [row.median_days for row in decision_times],
                "90th percentile": [row.p90_days for row in decision_times],
            },
            unit=" days",
        ),
        "by_tier": by_tier,
        "tier_chart": charts.bar_chart(
            chart_id="active-by-tier",
            title="Active grants by tier",
            categories=[row.label for row in by_tier],
            series={"Active grants": [row.count for row in by_tier]},
        ),
        "by_site": by_site,
        "site_chart": charts.bar_chart(
            chart_id="active-by-site",
            title="Active grants by site",
            categories=[row.label for row in by_site],
            series={"Active grants": [row.count for row in by_site]},
        ),
        "pcs": pcs,
        "pc_total": sum(row.pcs for row in pcs),
        "pc_cost_total": sum(row.yearly_cost for row in pcs),
        "pc_chart": charts.bar_chart(
            chart_id="pcs-by-unit",
            title="Yearly cost of standalone PCs in use, by business unit",
            categories=[row.business_unit for row in pcs],
            series={"Yearly cost": [row.yearly_cost for row in pcs]},
            prefix="£",
        ),
        "pc_yearly_cost": settings.SNS_STANDALONE_PC_YEARLY_COST,
        "access_reviews": reports.access_reviews_in_period(period=period),
        "budget_holders": reports.budget_holder_decisions(period=period),
        "form": form,
        "period": period,
        "filter_form_html": _filter_form_html(form, query, "reports"),
        "csv_urls": {
            slug.replace("-", "_"): _link("oversight:report-csv", query, table=slug)
            for slug in report_exports.TABLES
        },
    }
    return render(request, "oversight/reports.html", context)


@reads_from_replica
@require_safe
@permission_required(VIEW_REGISTER, raise_exception=True)
def report_csv(request):
    table = request.GET.get("table", "")
    report = report_exports.TABLES.get(table)
    if report is None:
        raise Http404("No such report table")
    form = ReportPeriodForm(request.GET)
    if not form.is_valid():
        return _back_to_filters("oversight:reports", form, request, reports_page)
    period = form.to_period()
    return csv_export.csv_response(
        filename=f"{table}-{period.start:%Y-%m-%d}-to-{period.end:%Y-%m-%d}.csv",
        header=report.header,
        rows=report.rows(period),
    )


@require_safe
def failed_emails(request):
    """Admins only (not auditors): the addresses of emails that failed, and why, are for
    the people who can fix an address or resend."""
    load_roles(request.user)
    if not request.user.has_role(Role.ADMIN):
        raise PermissionDenied
    emails = failed_email_selectors.failed_emails()
    page = _page_or_404(emails, request, keys=EMAIL_KEYS, descending=True)
    page = dataclasses.replace(page, rows=failed_email_selectors.failed_email_rows(page.rows))
    return render(
        request,
        "oversight/failed_emails.html",
        {
            "page": page,
            "next_url": page.next_cursor
            and _link("oversight:failed-emails", {}, after=page.next_cursor),
            "previous_url": page.previous_cursor
            and _link("oversight:failed-emails", {}, before=page.previous_cursor),
        },
    )
