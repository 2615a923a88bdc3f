"""What the cross-cutting suites walk: every URL of the portal, and a small world to visit it in.

The suites discover pages by walking the URL resolver, so a page merged later is covered (or,
for the permission matrix, must be added to its table) without anyone remembering to.

The world has two sides with the same shape: side A belongs to the people who act in the
tests (the staff member and their director), side B to strangers. Every text on side B
carries the marker `STRANGER`, so a page that shows it to side A's staff or director leaks.
"""

import datetime
import re
import secrets
from dataclasses import dataclass, field

from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from access_requests.models import AccessGrant, BusinessCase
from access_requests.tests.factories import AccessGrantFactory, BusinessCaseFactory, SiteFactory
from approvals.models import ApprovalRequest
from approvals.tests.factories import ApprovalRequestFactory, DelegationFactory
from audit.services import record
from core.client import Client
from core.models import column_fields, primary_key_field
from notifications.models import OutboundEmail
from people.models import Role
from people.tests.factories import (
    BusinessUnitFactory,
    DirectorateFactory,
    OrganisationFactory,
    UserFactory,
    director_of,
)

ROLES = ("anonymous", "staff", "director", "ict", "auditor", "admin")
# The roles that see only their own things: a stranger's data on their pages is a leak.
SCOPED_ROLES = ("staff", "director")
OWNER_MARKER = "Quokka"
STRANGER = "Zebedee"

PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name"
    route: str  # the pattern's text, e.g. "requests/<int:pk>/"
    callback: object

    @property
    def parameters(self) -> list[tuple[str, str]]:
        """[(name, converter)] in the order they appear."""
        return [(m["name"], m["converter"] or "str") for m in PARAMETER.finditer(self.route)] + [
            (name, "regex") for name in re.findall(r"\(\?P<(\w+)>", self.route)
        ]

    @property
    def namespace(self) -> str:
        return self.name.rpartition(":")[0]

    @property
    def is_admin(self) -> bool:
        return self.name.startswith("admin:")


def portal_routes(resolver=None, prefix="", namespace="") -> list[Route]:
    """Every named URL pattern, with its full route, sorted by name."""
    found = []
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            ns = pattern.namespace or ""
            found += portal_routes(
                pattern, prefix + str(pattern.pattern), f"{namespace}{ns}:" if ns else namespace
            )
        elif isinstance(pattern, URLPattern) and pattern.name:
            found.append(
                Route(f"{namespace}{pattern.name}", prefix + str(pattern.pattern), pattern.callback)
            )
    if not namespace and not prefix:
        unique = {route.name: route for route in found}  # the first of a repeated name wins
        return sorted(unique.values(), key=lambda r: r.name)
    return found


# --- the world -------------------------------------------------------------------------------


@dataclass
class Side:
    marker: str
    staff: object
    director: object
    draft_case: BusinessCase  # every question answered
    empty_draft: BusinessCase  # just started: nothing answered
    submitted_case: BusinessCase
    approval: ApprovalRequest
    decided_case: BusinessCase
    closed_case: BusinessCase  # withdrawn: its requester may ask again with its answers
    grant: AccessGrant  # active
    awaiting_grant: AccessGrant  # approved, waiting for ICT
    delegation: object
    email: OutboundEmail
    site: object
    audit_event: object = None  # an event of the trail about the submitted case
    token: str | None = None
    retired_site: object = None  # a site no longer offered (Manage sites' "offer again")
    ended_grant: AccessGrant | None = None  # revoked, its access still to withdraw (ICT)
    service_token: object = None  # a read API token (api.ServiceToken) owned by the staff member
    access_review: object = None  # an open review of this side's directorate
    review_item: object = None  # its item for the side's active grant (the director's)
    # A case sent back to the requester for more information, and one sent again (its
    # approver's open request, with a working token): states the pages show differently.
    sent_back_case: BusinessCase | None = None
    sent_again_approval: ApprovalRequest | None = None
    sent_again_token: str | None = None

    @property
    def password_uidb64(self) -> str:
        """The staff member's id as their emailed password link carries it."""
        from django.utils.encoding import force_bytes
        from django.utils.http import urlsafe_base64_encode

        return urlsafe_base64_encode(force_bytes(self.staff.pk))

    @property
    def password_token(self) -> str:
        """A working token for the staff member's emailed password link (made now, so it
        stays valid until their password changes)."""
        from django.contrib.auth.tokens import default_token_generator

        return default_token_generator.make_token(self.staff)

    @property
    def secrets(self) -> list[str]:
        """Texts that only this side's owner (and oversight roles) may see."""
        return [
            self.marker,
            self.staff.email,
            self.submitted_case.reference,
            self.decided_case.reference,
            self.closed_case.reference,
        ]


@dataclass
class World:
    own: Side
    other: Side
    ict: object
    auditor: object
    admin: object
    users: dict = field(default_factory=dict)

    def user(self, role: str):
        return self.users.get(role)

    def side(self, variant: str) -> Side:
        return self.other if variant == "other" else self.own


def build_side(marker: str, *, site) -> Side:
    organisation = OrganisationFactory(name=f"{marker} Agency")
    directorate = DirectorateFactory(organisation=organisation, name=f"{marker} Directorate")
    unit = BusinessUnitFactory(directorate=directorate, name=f"{marker} Unit")
    slug = marker.lower()
    staff = UserFactory(
        email=f"{slug}.staff@example.gov.uk",
        profile__name=f"{marker} Staffmember",
        profile__business_unit=unit,
    )
    director = director_of(
        directorate, email=f"{slug}.director@example.gov.uk", profile__name=f"{marker} Director"
    )
    need = {
        "purpose": f"{marker} purpose: monitor public discussion.",
        "audience": f"{marker} audience",
        "integration": f"{marker} integration",
    }
    draft_case = BusinessCaseFactory(requester=staff, sites=[site], **need)
    empty_draft = BusinessCase.objects.create(requester=staff)
    # References from a year the portal's counter never reaches, so real submits do not clash.
    ref = f"SNS-1999-{marker[:2].upper()}"
    submitted_case = BusinessCaseFactory(
        requester=staff, submitted=True, reference=f"{ref}001", sites=[site], **need
    )
    approval = ApprovalRequestFactory(business_case=submitted_case, approver=director)
    closed_case = BusinessCaseFactory(
        requester=staff,
        submitted=True,
        reference=f"{ref}004",
        status=BusinessCase.Status.WITHDRAWN,
        withdrawn_at=timezone.now(),
        sites=[site],
        **need,
    )
    grant = AccessGrantFactory(
        business_case__requester=staff,
        business_case__reference=f"{ref}002",
        business_case__sites=[site],
        business_case__purpose=need["purpose"],
        approved_by=director,
        provisioned=True,
    )
    awaiting_grant = AccessGrantFactory(
        business_case__requester=staff,
        business_case__reference=f"{ref}003",
        business_case__sites=[site],
        business_case__purpose=need["purpose"],
        approved_by=director,
    )
    ended_grant = AccessGrantFactory(
        business_case__requester=staff,
        business_case__reference=f"{ref}005",
        business_case__sites=[site],
        business_case__purpose=need["purpose"],
        approved_by=director,
        provisioned=True,
    )
    AccessGrant.objects.filter(pk=ended_grant.pk).update(
        status=AccessGrant.Status.REVOKED,
        revoked_at=timezone.now(),
        revocation_reason=f"{marker} no longer needed",
    )
    delegation = DelegationFactory(
        director=director, deputy=UserFactory(profile__name=f"{marker} Deputy")
    )
    ApprovalRequestFactory(
        business_case=grant.business_case,
        approver=director,
        status=ApprovalRequest.Status.DECIDED,
        decision=ApprovalRequest.Decision.APPROVE,
        decided_at=timezone.now(),
    )
    email = OutboundEmail.objects.create(
        to=staff.email,
        subject=f"{marker} your request",
        body_text=f"{marker} body",
        template="probe",
        next_attempt_at=timezone.now(),
        object_type="access_requests.businesscase",
        object_id=str(submitted_case.pk),
    )
    # The trail's own pages show an event with long values (a browser string, a reason
    # without spaces), as a real one can have.
    audit_event = record(
        actor=staff,
        action="case.identity_saved",
        obj=submitted_case,
        changes={
            "site": site.name,
            "display_name": ["", f"{marker} Staffmember"],
            "uses_pseudonym": [False, True],
            "pseudonym_reason": ["", f"{marker}-" + "reason-without-spaces-" * 12],
        },
        client=Client(
            address="2001:db8:85a3::8a2e:370:7334",
            user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 " + "Extension/1.0 " * 20,
        ),
    )
    question = {
        "more_information_question": f"{marker} question: which accounts will you follow?",
        "more_information_asked_at": timezone.now(),
    }
    sent_back_case = BusinessCaseFactory(
        requester=staff,
        submitted=True,
        status=BusinessCase.Status.MORE_INFORMATION,
        reference=f"{ref}006",
        sites=[site],
        **need,
        **question,
    )
    ApprovalRequestFactory(
        business_case=sent_back_case,
        approver=director,
        status=ApprovalRequest.Status.SENT_BACK,
    )
    sent_again_approval = ApprovalRequestFactory(
        business_case=BusinessCaseFactory(
            requester=staff, submitted=True, reference=f"{ref}007", sites=[site], **need, **question
        ),
        approver=director,
    )
    side = Side(
        marker=marker,
        staff=staff,
        director=director,
        draft_case=draft_case,
        empty_draft=empty_draft,
        submitted_case=submitted_case,
        approval=approval,
        decided_case=grant.business_case,
        closed_case=closed_case,
        grant=grant,
        awaiting_grant=awaiting_grant,
        ended_grant=ended_grant,
        delegation=delegation,
        email=email,
        site=site,
        audit_event=audit_event,
    )
    side.token = approval_token(approval)
    side.service_token = _service_token(staff, marker)
    side.access_review, side.review_item = _access_review(directorate, director, grant)
    side.sent_back_case = sent_back_case
    side.sent_again_approval = sent_again_approval
    side.sent_again_token = approval_token(sent_again_approval)
    return side


def _service_token(owner, marker: str):
    from api.services import service_token_create

    token, _secret = service_token_create(
        name=f"{marker} monitoring",
        owner=owner,
        scopes=["audit:read"],
        expires_at=timezone.now() + datetime.timedelta(days=30),
        actor=owner,
    )
    return token


def _access_review(directorate, director, grant):
    """An open access review of the directorate, its active grant put to its director."""
    from reviews.models import AccessReview, ReviewItem

    review = AccessReview.objects.create(
        due_on=timezone.localdate() + datetime.timedelta(days=14), started_at=timezone.now()
    )
    review.directorates.set([directorate])
    item = ReviewItem.objects.create(review=review, grant=grant, reviewer=director)
    return review, item


def state_pages(world: "World") -> list[tuple[str, str, str]]:
    """(name, role, url) of pages in a state the URL walk does not reach with its one object
    per parameter: a case sent back for more information, as its requester sees it and
    changes it, and the decision page of a case sent again."""
    side = world.own
    case = side.sent_back_case
    return [
        (
            "access_requests:case-detail (more information needed)",
            "staff",
            reverse("access_requests:case-detail", kwargs={"pk": case.pk}),
        ),
        (
            "access_requests:case-check (send it again)",
            "staff",
            reverse("access_requests:case-check", kwargs={"pk": case.pk}),
        ),
        (
            "approvals:decide (sent again)",
            "anonymous",
            reverse("approvals:decide", args=[side.sent_again_token]),
        ),
    ]


def approval_token(approval: ApprovalRequest) -> str | None:
    """A working token for the approval's emailed link.

    The approvals app stores only a digest of the emailed secret
    (`approvals.selectors.token_digest`); a test gives the row a secret it knows.
    Returns None while the approvals app has no tokens.
    """
    from approvals import selectors

    digest = getattr(selectors, "token_digest", None)
    if digest is None:
        return None
    token = secrets.token_urlsafe(32)
    ApprovalRequest.objects.filter(pk=approval.pk).update(token_hash=digest(token))
    approval.refresh_from_db()
    return token


def build_world() -> World:
    site = SiteFactory(name="LinkedIn")
    own = build_side(OWNER_MARKER, site=site)
    other = build_side(STRANGER, site=site)
    own.retired_site = other.retired_site = SiteFactory(name="Friends Reunited", is_active=False)
    ict = UserFactory(role=Role.ICT, email="ian.ict@example.gov.uk")
    auditor = UserFactory(role=Role.AUDITOR, email="aud.auditor@example.gov.uk")
    admin = UserFactory(role=Role.ADMIN, email="ada.admin@example.gov.uk")
    world = World(own=own, other=other, ict=ict, auditor=auditor, admin=admin)
    world.users = {
        "anonymous": None,
        "staff": own.staff,
        "director": own.director,
        "ict": ict,
        "auditor": auditor,
        "admin": admin,
    }
    return world


# --- filling URL parameters ------------------------------------------------------------------


class UnknownParameter(LookupError):
    pass


# Which object a parameter names, by (substring of the parameter's name) → side attribute.
# First match wins; `pk`/`id` fall back on the URL's name and app.
PARAMETER_OBJECTS = [
    ("service_token", "service_token"),
    ("token", "token"),
    ("withdrawal", "ended_grant"),
    ("provisioning", "awaiting_grant"),
    ("delegation", "delegation"),
    ("grant", "grant"),
    ("approval", "approval"),
    ("email", "email"),
    ("message", "email"),
    ("reference", "submitted_case.reference"),
    ("case", "submitted_case"),
    ("site", "site"),
    ("person", "staff"),  # staffing's pages about one person
    ("event", "audit_event"),
]


def _pick(side: Side, path: str):
    value = side
    for part in path.split("."):
        value = getattr(value, part)
    return value


def object_path_for(route: Route, parameter: str, override: str | None = None) -> str:
    if override:
        return override
    for needle, path in PARAMETER_OBJECTS:
        if needle in parameter:
            return path
    if parameter in {"pk", "id"}:
        leaf = route.name.rpartition(":")[2]
        for needle, path in PARAMETER_OBJECTS:
            if needle in leaf:
                return path
        if route.namespace == "approvals":
            return "approval"
        if route.namespace == "access_requests":
            return "submitted_case"
        if route.namespace == "reviews":
            return "access_review"
    raise UnknownParameter(
        f"{route.name}: which object is the URL parameter <{parameter}>? "
        "Add it to PARAMETER_OBJECTS in tests/portal_map.py or give the row an `object`."
    )


def url_for(route: Route, side: Side, override: str | dict | None = None) -> str:
    """The route's URL for the objects of one side of the world.

    `override` names the object for the first parameter ("draft_case"), or maps
    parameter names to objects ({"pk": "draft_case", "site_pk": "site"}).
    """
    if route.is_admin:
        return _admin_url(route)
    kwargs = {}
    for index, (parameter, _converter) in enumerate(route.parameters):
        if isinstance(override, dict):
            chosen = override.get(parameter)
        else:
            chosen = override if index == 0 else None
        value = _pick(side, object_path_for(route, parameter, chosen))
        if value is None:
            raise UnknownParameter(f"{route.name}: no value for <{parameter}> in this world")
        kwargs[parameter] = getattr(value, "pk", value)
    return reverse(route.name, kwargs=kwargs)


def _admin_object_id(route: Route) -> str:
    """The pk of an existing row of the admin page's model, else "1"."""
    from django.contrib import admin

    leaf = route.name.removeprefix("admin:")
    for model in apps.get_models():
        if admin.site.is_registered(model) and leaf.startswith(
            f"{model._meta.app_label}_{model._meta.model_name}_"
        ):
            first = model._default_manager.order_by("pk").values_list("pk", flat=True).first()
            return str(first) if first is not None else "1"
    return "1"


def _admin_url(route: Route) -> str:
    kwargs = {}
    for parameter, converter in route.parameters:
        if parameter == "app_label":
            kwargs[parameter] = "people"
        elif parameter == "object_id":
            kwargs[parameter] = _admin_object_id(route)
        elif converter == "int" or parameter.endswith("_id"):
            kwargs[parameter] = 1 if converter == "int" else "1"
        elif parameter == "url":
            kwargs[parameter] = "missing/"
        else:
            kwargs[parameter] = "x"
    if route.name == "admin:app_list":
        kwargs = {"app_label": "people"}
    return reverse(route.name, kwargs=kwargs)


# --- what changed ----------------------------------------------------------------------------

# Models whose rows are the portal's business state. The audit trail grows on purpose
# (an opened link is recorded), sessions and axes' tables are bookkeeping.
STATE_APPS = ("people", "access_requests", "approvals", "notifications", "api", "reviews")
# Fields a GET may legitimately set: the approvals app records when a link was first opened.
MAY_CHANGE_ON_GET = {
    "approvals.approvalrequest": {"first_opened_at", "updated_at"},
    # A read API request with a token records its use and counts it against the rate.
    "api.servicetoken": {
        "last_used_at",
        "last_used_address",
        "window_started_at",
        "window_requests",
        "updated_at",
    },
}


def state_snapshot() -> dict:
    """Every row of every business model, field by field (small test worlds only)."""
    snapshot = {}
    for model in apps.get_models():
        if model._meta.app_label not in STATE_APPS:
            continue
        label = model._meta.label_lower
        skip = MAY_CHANGE_ON_GET.get(label, set())
        names = [f.attname for f in column_fields(model) if f.attname not in skip]
        rows = model._default_manager.order_by("pk").values_list(*names)
        snapshot[label] = [tuple(_plain(v) for v in row) for row in rows]
    return snapshot


def state_fingerprint() -> dict:
    """Every business model's row count and a digest of its rows (the same fields as
    `state_snapshot`, in key order), computed by PostgreSQL in one query: cheap enough to
    take before and after each of the fuzzing's thousands of posts."""
    from django.db import connection

    quote = connection.ops.quote_name
    selects, labels = [], []
    for model in apps.get_models():
        meta = model._meta
        if meta.app_label not in STATE_APPS or meta.proxy or not meta.managed:
            continue
        skip = MAY_CHANGE_ON_GET.get(meta.label_lower, set())
        columns = ", ".join(quote(f.column) for f in column_fields(model) if f.attname not in skip)
        # Only the models' own table and column names are put into the text.
        selects.append(
            f"SELECT %s, count(*), md5(coalesce(string_agg(row({columns})::text, '|' "  # noqa: S608
            f"ORDER BY {quote(primary_key_field(model).column)}), '')) FROM {quote(meta.db_table)}"
        )
        labels.append(meta.label_lower)
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(selects), labels)
        return {label: (rows, digest) for label, rows, digest in cursor.fetchall()}


def fingerprint_differences(before: dict, after: dict) -> list[str]:
    problems = []
    for label in sorted(set(before) | set(after)):
        (old_rows, old_digest), (new_rows, new_digest) = before[label], after[label]
        if old_rows != new_rows:
            problems.append(f"{label}: {old_rows} rows became {new_rows}")
        elif old_digest != new_digest:
            problems.append(f"{label}: rows changed")
    return problems


def _plain(value):
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return value


def snapshot_differences(before: dict, after: dict) -> list[str]:
    problems = []
    for label in sorted(set(before) | set(after)):
        old, new = before.get(label, []), after.get(label, [])
        if len(old) != len(new):
            problems.append(f"{label}: {len(old)} rows became {len(new)}")
        elif old != new:
            changed = [n for o, n in zip(old, new, strict=True) if o != n]
            problems.append(f"{label}: {len(changed)} rows changed, e.g. {changed[0]!r}")
    return problems
