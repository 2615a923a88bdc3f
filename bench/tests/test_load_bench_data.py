"""The benchmark's data loader (its timings are `make bench`'s, not the tests')."""

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.db.models import Count, F
from django.urls import reverse

from access_requests.models import AccessGrant, BusinessCase, SafeUseReminder, SiteIdentity
from approvals.models import ApprovalRequest
from audit.models import AuditChainHead, AuditEvent
from audit.services import audit_chain_verify
from bench.data.accounts import BENCH_USERS
from bench.data.counts import bench_counts
from notifications.models import OutboundEmail
from people.models import Directorate, Organisation, Role, User
from people.tests.factories import UserFactory
from reviews.models import AccessReview, ReviewItem

SCALE = 0.001


def review_events() -> int:
    """The audit events of the access review the loader starts through its services."""
    return AuditEvent.objects.filter(action__startswith="access_review.").count()


@pytest.fixture
def bench_data(site_catalogue):
    out = StringIO()
    call_command("load_bench_data", scale=SCALE, keep_checks=True, verbosity=0, stdout=out)
    return out.getvalue()


def test_load_bench_data_loads_the_counts_of_its_scale(bench_data):
    expected = bench_counts(SCALE)
    assert User.objects.count() == expected.staff
    assert Organisation.objects.count() == expected.organisations
    assert Directorate.objects.count() == expected.directorates
    assert BusinessCase.objects.count() == expected.cases
    assert AccessGrant.objects.count() == expected.grants
    assert AuditEvent.objects.count() == expected.audit_events + review_events()
    reviewers = ReviewItem.objects.values("reviewer").distinct().count()
    assert OutboundEmail.objects.count() == expected.emails + reviewers  # "review started"
    assert "Loaded bench data at scale 0.001" in bench_data

    by_status = dict(BusinessCase.objects.values_list("status").annotate(n=Count("id")).order_by())
    assert by_status == {
        "approved": expected.grants,
        "rejected": expected.rejected,
        "withdrawn": expected.withdrawn,
        "lapsed": expected.lapsed,
        "submitted": expected.submitted,
        "draft": expected.drafts,
    }
    # One grant per approved case, held by its requester; every sent case was routed.
    assert not AccessGrant.objects.exclude(business_case__status="approved").exists()
    assert not AccessGrant.objects.exclude(holder=F("business_case__requester")).exists()
    assert ApprovalRequest.objects.count() == expected.cases - expected.drafts
    assert not BusinessCase.objects.exclude(
        pk__in=SiteIdentity.objects.values("business_case")
    ).exists()
    # Every directorate has a director, who holds the director role.
    assert not Directorate.objects.filter(director__isnull=True).exists()
    assert all(d.director.has_role(Role.DIRECTOR) for d in Directorate.objects.all())


def test_active_tier_grants_have_their_safe_use_reminders(bench_data):
    reminders = SafeUseReminder.objects.select_related("grant")
    assert reminders.exists()
    assert not reminders.exclude(grant__tier="active").exists()
    assert reminders.filter(confirmed_at__isnull=False).count() > reminders.count() // 2
    for reminder in reminders:
        days = (reminder.sent_at - reminder.grant.provisioned_at).days
        assert days == 90 * reminder.period  # one a period, from provisioning
        assert reminder.confirm_by == reminder.sent_at.date() + datetime.timedelta(days=14)


def test_the_loaded_audit_trail_is_a_valid_hash_chain(bench_data):
    checked, chain_break = audit_chain_verify()
    assert chain_break is None
    assert checked == bench_counts(SCALE).audit_events + review_events()
    newest = AuditEvent.objects.order_by("-id").first()
    assert AuditChainHead.objects.get(pk=1).last_hash == newest.hash
    out = StringIO()
    call_command("verify_audit", stdout=out)
    assert "Audit trail intact" in out.getvalue()


def test_the_bench_accounts_exist_with_their_roles(bench_data):
    admin = User.objects.get(email=BENCH_USERS["admin"])
    assert admin.is_staff and admin.has_role(Role.ADMIN)
    director = User.objects.get(email=BENCH_USERS["director"])
    assert Directorate.objects.filter(director=director).exists()
    staff = User.objects.get(email=BENCH_USERS["staff"])
    assert staff.business_cases.count() > 1
    # Each case went to the requester's director, or to the fallback admin for a director.
    for approval in ApprovalRequest.objects.select_related(
        "approver", "business_case__requester__profile__business_unit__directorate"
    ):
        requester_director = approval.business_case.requester.profile.directorate.director
        if requester_director == approval.business_case.requester:
            assert approval.approver == admin
        else:
            assert approval.approver == requester_director


def test_the_register_search_finds_loaded_people_when_triggers_were_off(site_catalogue, client):
    # Without --keep-checks the load switches PostgreSQL's triggers off, the ones that keep
    # each person's search text among them: the loader writes those texts itself.
    call_command("load_bench_data", scale=SCALE, verbosity=0, stdout=StringIO())
    grant = AccessGrant.objects.filter(status="active").select_related("holder__profile").first()
    surname = grant.holder.profile.commonly_used_name.split()[-1]
    client.force_login(User.objects.get(email=BENCH_USERS["admin"]))

    page = client.get(reverse("oversight:register"), {"q": surname.lower()})

    assert grant.business_case.reference in page.content.decode()


def test_a_second_run_at_the_same_scale_does_nothing(bench_data):
    out = StringIO()
    call_command("load_bench_data", scale=SCALE, keep_checks=True, verbosity=0, stdout=out)
    assert "already loaded" in out.getvalue()
    assert BusinessCase.objects.count() == bench_counts(SCALE).cases


def test_reset_reloads_at_another_scale(bench_data):
    call_command("load_bench_data", scale=0.002, reset=True, verbosity=0, stdout=StringIO())
    assert BusinessCase.objects.count() == bench_counts(0.002).cases
    assert audit_chain_verify()[1] is None


def test_it_refuses_to_load_into_a_database_with_other_people(db):
    UserFactory()
    with pytest.raises(Exception, match="--reset"):
        call_command("load_bench_data", scale=SCALE, verbosity=0, stdout=StringIO())


def test_reset_empties_the_trail_despite_its_truncate_triggers(bench_data):
    """Production's TRUNCATE triggers are on (the test database keeps them off for
    pytest-django's flushes): the loader switches them off for its reset only, as the tables'
    owner, and on again; its old checkpoints are moved aside with the trail they pinned."""
    from audit.checkpoints import audit_checkpoint_write, audit_checkpoints_read
    from conftest import AUDIT_TRUNCATE_TRIGGERS

    audit_checkpoint_write()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table, trigger in AUDIT_TRUNCATE_TRIGGERS:
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")

    call_command("load_bench_data", scale=0.002, reset=True, verbosity=0, stdout=StringIO())

    expected = bench_counts(0.002).audit_events + review_events()
    assert AuditEvent.objects.count() == expected
    assert audit_checkpoints_read() == ([], [])
    assert audit_chain_verify() == (expected, None)
    with connection.cursor() as cursor:
        # The load skipped ordinary triggers for its transaction (the test's): back to normal.
        cursor.execute("SET LOCAL session_replication_role = origin")
    with pytest.raises(DatabaseError, match="TRUNCATE refused"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("TRUNCATE audit_auditevent CASCADE")


def test_a_directorate_is_at_most_1250_people_at_any_scale():
    for scale in (1, 10):
        counts = bench_counts(scale)
        assert counts.staff / counts.directorates == 1_250
    assert bench_counts(10).directorates == 400


def test_the_bench_director_has_an_access_review_in_progress(bench_data, client):
    director = User.objects.get(email=BENCH_USERS["director"])
    review = AccessReview.objects.get()
    assert review.is_open
    mine = ReviewItem.objects.filter(review=review, reviewer=director)
    assert mine.exclude(decision="").exists()
    assert mine.filter(decision="").exists()
    client.force_login(director)

    page = client.get(reverse("reviews:review", args=[review.pk]))

    assert page.status_code == 200
    assert "Already reviewed" in page.content.decode()
    assert page.context["cards"]
