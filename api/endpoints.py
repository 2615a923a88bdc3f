"""The read API, `/api/v1/`: the register's grants, business cases and the audit feed, as
JSON, for service tokens (`api.auth`). GET only; nothing here writes but the token's own
"last used" (`api.services.service_token_use`). The OpenAPI document is built from the
schemas (`/api/v1/openapi.json`); admins read it as a GOV.UK page (`api.views.reference`).
"""

from django.http import HttpRequest
from django.utils.http import urlencode
from ninja import NinjaAPI, Query
from ninja.errors import AuthenticationError, HttpError

from access_requests.models import Site
from audit.feed import audit_feed
from oversight.pagination import BadCursor, SortKey, keyset_page, parse_id
from oversight.selectors import audit_trail as audit_selectors, register as register_selectors
from people.models import BusinessUnit, Directorate, Organisation, User

from . import schemas, selectors
from .auth import ServiceTokenAuth
from .errors import RateLimited
from .models import Scope

REFUSALS = {
    401: schemas.Problem,
    403: schemas.Problem,
    404: schemas.Problem,
    422: schemas.ValidationProblem,
    429: schemas.Problem,
}

api = NinjaAPI(
    title="SNS access portal read API",
    version="1",
    description=(
        "Read-only access to the register of social media access grants, business cases "
        "and the audit trail, for service tokens that the portal's admins create. "
        "Send the token as `Authorization: Bearer sns_…`. See docs/api.md."
    ),
    urls_namespace="api-v1",
    docs_url=None,
)


def _unauthorised(request, exc: HttpError):
    response = api.create_response(request, {"detail": exc.message}, status=exc.status_code)
    if exc.status_code == 401:
        response["WWW-Authenticate"] = 'Bearer realm="sns"'
    return response


def _rate_limited(request, exc: RateLimited):
    response = api.create_response(request, {"detail": str(exc)}, status=429)
    response["Retry-After"] = str(exc.retry_after)
    return response


api.add_exception_handler(HttpError, _unauthorised)
api.add_exception_handler(AuthenticationError, _unauthorised)
api.add_exception_handler(RateLimited, _rate_limited)


def _next_link(request: HttpRequest, **changed) -> str:
    query = {**request.GET.dict(), **changed}
    return request.build_absolute_uri(request.path + "?" + urlencode(query))


def _with_pk(model, pk: int | None):
    """An unsaved instance naming the row: the register's filters compare by primary key,
    and an id that names nothing matches no grant."""
    return model(pk=pk) if pk is not None else None


def _register_filters(filters: schemas.GrantFilters) -> register_selectors.RegisterFilters:
    return register_selectors.RegisterFilters(
        status=filters.status,
        tier=filters.tier or "",
        site=_with_pk(Site, filters.site),
        organisation=_with_pk(Organisation, filters.organisation),
        directorate=_with_pk(Directorate, filters.directorate),
        business_unit=_with_pk(BusinessUnit, filters.business_unit),
        approver=_with_pk(User, filters.approver),
        expiring_within_days=filters.expiring_within_days,
        start_from=filters.start_from,
        start_to=filters.start_to,
        end_from=filters.end_from,
        end_to=filters.end_to,
        search=filters.q.strip(),
        sort=filters.sort,
    )


def _page(queryset, filters, **kwargs):
    try:
        return keyset_page(queryset, after=filters.after, page_size=filters.limit, **kwargs)
    except BadCursor:
        # As the register's page answers a broken page link: there is no such page.
        raise HttpError(404, "No such page: follow the next link as it was given") from None


@api.get(
    "/grants/",
    response={200: schemas.GrantPage, **REFUSALS},
    auth=ServiceTokenAuth(Scope.REGISTER_READ),
    summary="The register of grants",
    description="The register's grants with the register page's filters, in keyset pages.",
    operation_id="grants",
    url_name="grants",
)
def grants(request, filters: Query[schemas.GrantFilters]):
    register_filters = _register_filters(filters)
    filtered = register_selectors.register_filtered(register_filters)
    keys, descending = register_selectors.register_keys(register_filters.sort)
    by_holder = register_filters.sort in register_selectors.SORT_BY_HOLDER
    values = register_selectors.register_page_values(
        register_selectors.register_page_source(filtered, by_holder=by_holder),
        by_holder=by_holder,
        extra=("paying_business_unit_id",),
    )
    page = _page(
        values,
        filters,
        keys=keys,
        descending=descending,
        keys_from=None if by_holder else filtered,
    )
    return {
        "items": selectors.grant_items(page.rows),
        "next": page.next_cursor and _next_link(request, after=page.next_cursor),
    }


CASE_KEYS = [SortKey("id", parse_id)]


@api.get(
    "/business-cases/",
    response={200: schemas.CasePage, **REFUSALS},
    auth=ServiceTokenAuth(Scope.REGISTER_READ),
    summary="Business cases",
    description=(
        "Sent business cases, oldest first. Their free text (the business need and "
        "people's reasons) is included only for a token with the cases:reasons scope."
    ),
    operation_id="business_cases",
    url_name="business-cases",
)
def business_cases(request, filters: Query[schemas.CaseFilters]):
    cases = selectors.cases_for_api(status=filters.status or "", reference=filters.reference)
    page = _page(cases, filters, keys=CASE_KEYS)
    with_reasons = Scope.CASE_REASONS in request.service_token.scopes
    return {
        "items": [selectors.case_item(case, with_reasons=with_reasons) for case in page.rows],
        "next": page.next_cursor and _next_link(request, after=page.next_cursor),
    }


@api.get(
    "/audit-events/",
    response={200: schemas.AuditFeed, **REFUSALS},
    auth=ServiceTokenAuth(Scope.AUDIT_READ),
    summary="The audit feed",
    description=(
        "Audit events after `after_id`, in id order, with their chain fields. Ask again "
        "with the `next` link (the last id served) to read on: no event is skipped or "
        "served twice, as only events up to the chain's committed head are served."
    ),
    operation_id="audit_events",
    url_name="audit-events",
)
def audit_events(request, filters: Query[schemas.FeedFilters]):
    narrowed = audit_selectors.audit_events(
        audit_selectors.AuditFilters(
            action=filters.action, object_type=filters.object_type, object_id=filters.object_id
        )
    )
    items = audit_feed(after_id=filters.after_id, limit=filters.limit, events=narrowed)
    last = items[-1]["id"] if items else filters.after_id
    return {"items": items, "next": _next_link(request, after_id=last)}
