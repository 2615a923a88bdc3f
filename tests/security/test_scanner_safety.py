"""Mail scanners open every link in every email (GET and HEAD) before the person does.

The test drives the portal's flows that send email (submitting a case, then every beat
task at the times reminders and notices fall due, then the outbox), collects every email
sent, and fetches each of the portal's links in them anonymously, as a scanner would:
nothing in the database may change. New emails are covered as their flows are: a service
that emails on submit, or a beat task in CELERY_BEAT_SCHEDULE, is driven here without a
change to this file.
"""

import datetime
import re

import pytest
import time_machine
from celery import current_app
from django.conf import settings as django_settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.test import Client
from django.urls import path
from django.utils import timezone

from access_requests.models import AccessGrant, BusinessCase
from access_requests.tests.factories import BusinessCaseFactory
from notifications.services import email_queue
from tests.portal_map import build_world, snapshot_differences, state_snapshot
from tests.state_writes import StateWatch

LINK = re.compile(r"https?://[^\s\"'<>]+")


def run_beat_tasks():
    current_app.loader.import_default_modules()  # every app's tasks.py, as a worker does
    for entry in django_settings.CELERY_BEAT_SCHEDULE.values():
        current_app.tasks[entry["task"]].apply()


def drive_flows_that_send_email(world, capture):
    """Everything that sends email, through the portal's own services."""
    from access_requests.services.grants import grant_provision, grant_revoke
    from approvals.services import approval_decide, case_submit, case_withdraw
    from people.services import password_reset_request

    staff = world.own.staff
    cases = [BusinessCaseFactory(requester=staff, sites=[world.own.site]) for _ in range(3)]
    with capture(execute=True):
        # A person submits cases (each routed to their director, who is emailed a link).
        cases = [case_submit(case=case, actor=staff) for case in cases]
    with capture(execute=True):
        for case, decision in zip(cases, ["approve", "reject"], strict=False):
            approval = case.approval_requests.filter(status="open").first()
            approval_decide(
                approval_request=approval,
                decision=decision,
                reason="Not this time",
                actor=approval.approver,
            )
        case_withdraw(case=cases[2], actor=staff, reason="No longer needed")
    with capture(execute=True):
        for grant in AccessGrant.objects.filter(status=AccessGrant.Status.AWAITING_PROVISIONING):
            if grant.holder == staff:
                grant_provision(grant=grant, actor=world.ict, asset_tag="PC-1")
        grant_revoke(grant=world.own.grant, actor=world.admin, reason="Left the team")
    # Someone asks for a password link: a person with no password yet (from import_staff).
    world.own.director.set_unusable_password()
    world.own.director.save(update_fields=["password"])
    with capture(execute=True):
        password_reset_request(email=world.own.director.email)
    # Every sweep at the times reminders, escalations, lapses and expiry notices fall due.
    today = timezone.localdate()
    grant_end = world.own.awaiting_grant.end_date
    days = [0, 4, 8, 12, 16, 31] + [(grant_end - today).days - d for d in (30, 7, 1)]
    for offset in sorted(set(days)):
        with time_machine.travel(timezone.now() + datetime.timedelta(days=offset, hours=1)):
            with capture(execute=True):
                run_beat_tasks()


def links_in(messages) -> list[tuple[str, str]]:
    """(link, recipient) for every link in every email, text and HTML."""
    found = set()
    for message in messages:
        bodies = [message.body] + [content for content, _ in getattr(message, "alternatives", [])]
        for body in bodies:
            for link in LINK.findall(body):
                found.add((link.rstrip(".,);"), message.to[0]))
    return sorted(found)


def scanner_problems(links) -> list[tuple[str, str]]:
    """Fetch each of the portal's links with GET (following redirects) and HEAD: anonymously,
    as a scanner does, and signed in as the recipient, as the person does."""
    from people.models import User

    problems = []
    state = StateWatch(state_snapshot, snapshot_differences)
    for link, recipient in links:
        if not link.startswith(django_settings.PORTAL_BASE_URL):
            continue  # an outside resource (GOV.UK guidance): not ours to fetch
        target = link.removeprefix(django_settings.PORTAL_BASE_URL) or "/"
        person = User.objects.filter(email__iexact=recipient).first()
        for method in ("get", "head"):
            for who in ("scanner", "recipient"):
                client = Client(raise_request_exception=False, HTTP_USER_AGENT="SafeLinks/1.0")
                if who == "recipient":
                    if person is None:
                        continue
                    client.force_login(person)
                state.changes()  # signing the recipient in is not the fetch's doing
                response = getattr(client, method)(target, follow=method == "get")
                where = f"{method.upper()} {link} by the {who}"
                if response.status_code >= 500:
                    problems.append(f"{where}: server error {response.status_code}")
                changed = state.changes()
                if changed:
                    problems.append(f"{where} changed the database: {changed}")
    return problems


@pytest.mark.django_db
def test_fetching_every_link_in_every_email_changes_nothing(
    mailoutbox, probe_templates, django_capture_on_commit_callbacks
):
    world = build_world()
    with django_capture_on_commit_callbacks(execute=True):
        email_queue(
            to=world.own.staff.email,
            template="scanner_probe",
            context={"name": "Sam", "links": ["/sign-in/", "/guidance/"]},
        )
    drive_flows_that_send_email(world, django_capture_on_commit_callbacks)
    assert mailoutbox, "no email was sent"
    links = links_in(mailoutbox)
    ours = [link for link, _ in links if link.startswith("http://testserver")]
    assert "http://testserver/guidance/" in ours
    assert any(link.startswith("http://testserver/password/reset/") for link in ours)
    # Every link to the portal is absolute (it works from a mail client).
    for message in mailoutbox:
        assert not re.search(r'href="/', "".join(c for c, _ in message.alternatives)), (
            message.subject
        )
    print(f"{len(mailoutbox)} emails, {len(ours)} links to the portal:", *ours, sep="\n  ")
    problems = scanner_problems(links)
    assert not problems, "\n".join(problems)


# --- the check catches what it is for --------------------------------------------------------


@login_not_required  # as the emailed token link is
def approves_on_get(request, case_pk):
    """A decision link that decides on GET: what a mail scanner would trigger."""
    BusinessCase.objects.filter(pk=case_pk).update(decision_reason="decided by a scanner")
    return HttpResponse("Approved")


class ScannerUnsafeUrls:
    from portal.urls import urlpatterns as _portal

    urlpatterns = [
        *_portal,
        path("broken/decide/<int:case_pk>/", approves_on_get, name="approves-on-get"),
    ]


@pytest.mark.django_db
def test_the_scanner_check_fails_on_a_link_that_acts_on_get(
    mailoutbox, probe_templates, settings, monkeypatch, django_capture_on_commit_callbacks
):
    import sys

    monkeypatch.setitem(sys.modules, "tests_scanner_unsafe_urls", ScannerUnsafeUrls)
    settings.ROOT_URLCONF = "tests_scanner_unsafe_urls"
    world = build_world()
    case = world.own.submitted_case
    with django_capture_on_commit_callbacks(execute=True):
        email_queue(
            to=world.own.director.email,
            template="scanner_probe",
            context={"name": "Dana", "links": [f"/broken/decide/{case.pk}/"]},
        )
    problems = scanner_problems(links_in(mailoutbox))
    assert any(
        p.startswith(f"GET http://testserver/broken/decide/{case.pk}/ by the scanner changed")
        for p in problems
    ), problems
