"""Auditors read everything and change nothing, anywhere in the portal.

Walks every URL pattern (as the sign-in test does), POSTs to each as an auditor with a few
plausible payloads and every id of the objects that exist, and checks the answer is a
refusal (403/404/405, or another client error) or a re-displayed page, and that not one
row of any table changed.
"""

import re

import pytest
from django.db import connection
from django.urls import NoReverseMatch, reverse

from access_requests.tests.factories import AccessGrantFactory, SiteFactory
from approvals.tests.factories import ApprovalRequestFactory, DelegationFactory
from people.models import Role
from people.tests.factories import UserFactory
from portal.tests.test_pages_need_sign_in import all_url_patterns

pytestmark = pytest.mark.django_db

# Signing out ends the auditor's own session (a session row, not portal data).
NOT_PORTAL_DATA_CHANGES = {"sign-out", "admin:logout"}
# The session row is touched by signing in and by messages; it is not portal data.
IGNORED_TABLES = {"django_session"}
PAYLOADS = [
    {},
    {
        "decision": "approve",
        "reason": "An auditor trying to act",
        "decision_reason": "An auditor trying to act",
        "confirm": "yes",
        "post": "yes",
        "status": "revoked",
        "end_date": "2030-01-01",
    },
]


def database_fingerprint() -> dict[str, tuple[int, str]]:
    """Every table's row count and a digest of all its rows."""
    fingerprint = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names()):
            if table in IGNORED_TABLES:
                continue
            quoted = connection.ops.quote_name(table)
            cursor.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "  # noqa: S608 - table names from introspection
                f"FROM {quoted} t"
            )
            fingerprint[table] = cursor.fetchone()
    return fingerprint


def _urls(ids: list[int]) -> list[tuple[str, str]]:
    """(name, url) for every named route, with each id for its integer parameters."""
    urls = []
    for name, route in all_url_patterns():
        if name in {"sign-in", "healthz"} | NOT_PORTAL_DATA_CHANGES:
            continue
        params = re.findall(r"<(?:(\w+):)?(\w+)>", route)
        choices = ids if any(kind == "int" for kind, _ in params) else [None]
        for value in choices:
            kwargs = {arg: value if kind == "int" else "x" for kind, arg in params}
            try:
                urls.append((name, reverse(name, kwargs=kwargs)))
            except NoReverseMatch:
                continue  # regex routes of the admin (app labels): covered by admin:index
    return urls


def test_an_auditor_cannot_change_anything_by_posting_anywhere(client):
    auditor = UserFactory(role=Role.AUDITOR)
    grant = AccessGrantFactory(provisioned=True)
    approval = ApprovalRequestFactory()
    delegation = DelegationFactory()
    site = SiteFactory(name="Mastodon")
    ids = sorted(
        {
            grant.pk,
            grant.business_case_id,
            approval.pk,
            approval.business_case_id,
            delegation.pk,
            site.pk,
            auditor.pk,
            grant.holder_id,
        }
    )
    client.force_login(auditor)
    urls = _urls(ids)
    assert any(name == "oversight:register" for name, _ in urls)
    before = database_fingerprint()

    refused = []
    for name, url in urls:
        for payload in PAYLOADS:
            response = client.post(url, payload)
            status = response.status_code
            if name == "admin:login":
                assert status == 200, (name, url, status)  # the sign-in form again
            elif name.startswith("admin:"):
                # Auditors are not admin-site users: every admin page sends them to sign in.
                assert status == 302 and "/admin/login/" in response.url, (name, url, status)
            else:
                assert status in {200, 400, 403, 404, 405, 410}, (name, url, status)
            refused.append(status)
    after = database_fingerprint()
    changed = [table for table in before if before[table] != after.get(table)]
    assert not changed, f"an auditor's POST changed {changed}"
    assert 403 in refused or 405 in refused
    # The fingerprint does notice a change.
    site.name = "Changed"
    site.save()
    assert database_fingerprint() != after


def test_an_auditor_is_refused_the_admin_site(client):
    client.force_login(UserFactory(role=Role.AUDITOR))
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert "/admin/login/" in response.url
