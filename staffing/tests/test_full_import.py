"""`import_staff --full`: the file is the whole staff directory. Leavers are switched off
and their access ends, movers' cases follow them, a new director gets the directorate's
cases; a dry run and the safety limit change nothing."""

import itertools

import pytest
from django.contrib.sessions.models import Session
from django.core.management import CommandError
from django.urls import reverse

from access_requests.models import AccessGrant, AccessTier, BusinessCase
from access_requests.tests.factories import grant_in_status
from approvals.models import ApprovalRequest, Delegation
from approvals.tests.factories import (
    DelegationFactory,
    link_for,
    requester_and_director,
    submitted_case,
)
from audit.models import AuditEvent
from notifications.models import OutboundEmail
from people.models import Directorate, Role, User
from people.tests.factories import (
    TEST_PASSWORD,
    BusinessUnitFactory,
    DirectorateFactory,
    UserFactory,
)

from .helpers import directory_file, import_staff

pytestmark = pytest.mark.django_db

ICT_MAILBOX = "ict-desk@example.gov.uk"


@pytest.fixture(autouse=True)
def _ict_mailbox(settings):
    settings.SNS_ICT_MAILBOX = ICT_MAILBOX


@pytest.fixture
def admin():
    return UserFactory(role=Role.ADMIN, profile__name="Ada Admin")


_references = itertools.count(1)


def grant_of(person, status=AccessGrant.Status.ACTIVE, **kwargs) -> AccessGrant:
    """A grant held by `person` (its case's reference apart from the counter's)."""
    return grant_in_status(
        status,
        business_case__requester=person,
        business_case__reference=f"SNS-2020-{next(_references):05d}",
        **kwargs,
    )


def state() -> tuple:
    """What an import may change, to show a refused or dry run changed nothing."""
    return (
        list(User.objects.order_by("pk").values_list("pk", "is_active", "email")),
        list(AccessGrant.objects.order_by("pk").values_list("pk", "status")),
        list(BusinessCase.objects.order_by("pk").values_list("pk", "status")),
        list(ApprovalRequest.objects.order_by("pk").values_list("pk", "status", "approver")),
        list(Directorate.objects.order_by("pk").values_list("pk", "director")),
        list(Delegation.objects.order_by("pk").values_list("pk", "cancelled_at")),
        AuditEvent.objects.count(),
        OutboundEmail.objects.count(),
        Session.objects.count(),
    )


def test_a_leaver_is_switched_off_and_their_access_ends(
    tmp_path, capsys, client, admin, django_capture_on_commit_callbacks
):
    leaver, director = requester_and_director(profile__name="Lee Leaver")
    grant = grant_of(leaver, business_case__tier=AccessTier.ACTIVE, pc_asset_tag="HO-123456")
    waiting = grant_of(leaver, AccessGrant.Status.AWAITING_PROVISIONING)
    case = submitted_case(requester=leaver)
    client.force_login(leaver)
    assert client.get(reverse("home")).status_code == 200

    out = import_staff(directory_file(tmp_path, without=[leaver]), "--full", capsys=capsys)

    assert "1 switched off" in out
    leaver.refresh_from_db()
    assert not leaver.is_active
    # Signed out, and cannot sign in again.
    assert client.get(reverse("home")).status_code == 302
    refused = client.post(reverse("sign-in"), {"username": leaver.email, "password": TEST_PASSWORD})
    assert refused.status_code == 200 and "_auth_user_id" not in client.session
    for ended in (grant, waiting):
        ended.refresh_from_db()
        assert ended.status == AccessGrant.Status.REVOKED
        assert ended.revocation_reason == "left the department"
        assert ended.revoked_by is None
    case.refresh_from_db()
    assert case.status == BusinessCase.Status.WITHDRAWN
    assert not ApprovalRequest.objects.filter(
        business_case=case, status=ApprovalRequest.Status.OPEN
    ).exists()
    # ICT is asked to recover the PC and close the sites, and told why.
    ict = OutboundEmail.objects.get(template="grant_withdraw_ict", object_id=str(grant.pk))
    assert ict.to == ICT_MAILBOX
    body = ict.content().body_text
    assert "Recover the standalone PC (asset tag HO-123456)" in body
    assert "revoked (left the department)" in body
    assert AuditEvent.objects.filter(
        action="people.switched_off", object_id=str(leaver.pk), actor_label="system:import_staff"
    ).exists()
    # The register's case file says why.
    client.force_login(admin)
    page = client.get(reverse("oversight:case-detail", args=[grant.business_case_id]))
    assert "by the staff directory import: left the department" in page.content.decode()


def test_a_leaving_director_s_cases_go_to_the_fallback_and_their_delegations_end(
    tmp_path, admin, client
):
    requester, director = requester_and_director(director_name="Dana Director")
    deputy = UserFactory(profile__name="Dee Deputy")
    given = DelegationFactory(director=director, deputy=deputy)
    held_for = UserFactory(role=Role.DIRECTOR)
    held = DelegationFactory(director=held_for, deputy=director)
    case = submitted_case(requester=requester)
    old = ApprovalRequest.objects.get(business_case=case, approver=director)
    old_link = link_for(old)

    import_staff(directory_file(tmp_path, without=[director]), "--full")

    requests = ApprovalRequest.objects.filter(business_case=case)
    assert set(requests.filter(status="open").values_list("approver", flat=True)) == {admin.pk}
    assert set(requests.filter(status="superseded").values_list("approver", flat=True)) == {
        director.pk,
        deputy.pk,
    }
    for delegation in (given, held):
        delegation.refresh_from_db()
        assert delegation.cancelled_at is not None
    # The old link answers 410 and says why.
    response = client.get(old_link)
    assert response.status_code == 410
    assert "Dana Director left the department" in response.content.decode()
    assert Directorate.objects.get(pk=requester.profile.directorate.pk).director is None


def test_a_dry_run_lists_the_plan_and_changes_nothing(tmp_path, capsys, admin):
    leaver, director = requester_and_director(profile__name="Lee Leaver")
    grant = grant_of(leaver)
    case = submitted_case(requester=leaver)
    mover = UserFactory(profile__name="Mo Mover")
    target = BusinessUnitFactory(directorate=director.profile.directorate, name="Target unit")
    path = directory_file(
        tmp_path,
        without=[leaver],
        changes={
            mover: {
                "directorate": target.directorate.name,
                "business_unit": target.name,
                "cost_centre": target.cost_centre,
                "organisation": target.directorate.organisation.name,
            }
        },
        extra="jo.joiner@example.gov.uk,Jo Joiner,Adviser,HQ,New Directorate,New unit,CC99999,staff\n",
    )
    before = state()

    out = import_staff(path, "--full", "--dry-run", capsys=capsys)

    assert state() == before
    assert "nothing was changed" in out
    assert "Joiners (1):\n  jo.joiner@example.gov.uk" in out
    assert "Movers (1):" in out and f"{mover.email}: " in out
    assert f"→ Target unit in {target.directorate.name}" in out
    assert "Leavers (1):\n  " + leaver.email in out
    assert f"active grants: {grant.business_case.reference} (Active: " in out
    assert f"open cases: {case.reference}" in out
    assert "approval requests held: none" in out


def test_a_dry_run_without_full_lists_no_leavers(tmp_path, capsys):
    gone = UserFactory()
    before = state()
    out = import_staff(directory_file(tmp_path, without=[gone]), "--dry-run", capsys=capsys)
    assert "Leavers (0):" in out
    assert state() == before


def test_an_import_without_full_leaves_people_missing_from_the_file_alone(tmp_path):
    stays = UserFactory()
    UserFactory()
    import_staff(directory_file(tmp_path, without=[stays]))
    stays.refresh_from_db()
    assert stays.is_active


def test_the_safety_limit_refuses_a_truncated_file_by_default(tmp_path):
    people = UserFactory.create_batch(12)
    before = state()
    with pytest.raises(CommandError) as error:
        import_staff(directory_file(tmp_path, without=people[:11]), "--full")
    assert "would switch off 11 people, more than the safety limit of 10" in str(error.value)
    assert "Nothing was changed" in str(error.value)
    assert state() == before
    # Told the count, the same file goes through.
    import_staff(directory_file(tmp_path, without=people[:11]), "--full", "--max-leavers", "11")
    assert User.objects.filter(is_active=False).count() == 11


def test_the_default_safety_limit_is_five_percent_of_active_people(tmp_path):
    from people.directory import staff_directory_plan

    UserFactory.create_batch(3)
    assert staff_directory_plan(rows=[], full=True).leaver_limit_default == 10
    User.objects.bulk_create(
        [User(email=f"bulk{n}@example.gov.uk", password="!") for n in range(300)]
    )
    assert staff_directory_plan(rows=[], full=True).leaver_limit_default == 15


def test_an_explicit_safety_limit_refuses_one_more(tmp_path):
    people = UserFactory.create_batch(3)
    before = state()
    with pytest.raises(
        CommandError, match="would switch off 3 people, more than the safety limit of 2"
    ):
        import_staff(directory_file(tmp_path, without=people), "--full", "--max-leavers", "2")
    assert state() == before


def test_a_mover_s_case_goes_to_the_new_director_who_is_told_of_their_access(
    tmp_path, client, django_capture_on_commit_callbacks
):
    mover, old_director = requester_and_director(profile__name="Mo Mover", director_name="Olu Old")
    grant = grant_of(mover)
    case = submitted_case(requester=mover)
    old = ApprovalRequest.objects.get(business_case=case, approver=old_director)
    old_link = link_for(old)
    elsewhere = DirectorateFactory(name="Finance Directorate")
    new_director = UserFactory(
        role=Role.DIRECTOR,
        profile__name="Nia New",
        profile__business_unit=BusinessUnitFactory(directorate=elsewhere),
    )
    elsewhere.director = new_director
    elsewhere.save()
    unit = new_director.profile.business_unit

    import_staff(
        directory_file(
            tmp_path,
            changes={
                mover: {
                    "organisation": elsewhere.organisation.name,
                    "directorate": elsewhere.name,
                    "business_unit": unit.name,
                    "cost_centre": unit.cost_centre,
                }
            },
        ),
        "--full",
    )

    old.refresh_from_db()
    assert old.status == ApprovalRequest.Status.SUPERSEDED
    assert ApprovalRequest.objects.filter(
        business_case=case, approver=new_director, status="open"
    ).exists()
    response = client.get(old_link)
    assert response.status_code == 410
    page = response.content.decode()
    assert "Mo Mover moved to Finance Directorate" in page
    assert "Nia New, the director of Finance Directorate" in page
    grant.refresh_from_db()
    assert grant.status == AccessGrant.Status.ACTIVE
    told = OutboundEmail.objects.get(template="grant_holder_joined_directorate")
    assert told.to == new_director.email
    assert grant.business_case.reference in told.content().body_text


def test_a_new_director_is_sent_the_open_cases_and_the_old_link_answers_410(
    tmp_path, client, capsys
):
    requester, old_director = requester_and_director(director_name="Olu Old")
    deputy = UserFactory()
    delegation = DelegationFactory(director=old_director, deputy=deputy)
    case = submitted_case(requester=requester)
    old = ApprovalRequest.objects.get(business_case=case, approver=old_director)
    old_link = link_for(old)
    successor = UserFactory(
        profile__name="Nia New", profile__business_unit=requester.profile.business_unit
    )

    out = import_staff(
        directory_file(
            tmp_path, changes={old_director: {"role": "staff"}, successor: {"role": "director"}}
        ),
        "--full",
        capsys=capsys,
    )

    assert "1 director changes" in out
    directorate = requester.profile.directorate
    directorate.refresh_from_db()
    assert directorate.director == successor
    [new] = ApprovalRequest.objects.filter(business_case=case, status="open")
    assert new.approver == successor
    delegation.refresh_from_db()
    assert delegation.cancelled_at is not None
    assert OutboundEmail.objects.filter(
        template="approval_request", to=successor.email, object_id=str(new.pk)
    ).exists()
    response = client.get(old_link)
    assert response.status_code == 410
    assert f"Nia New is the new director of {directorate.name}" in response.content.decode()
    closed = OutboundEmail.objects.get(template="approval_closed", to=old_director.email)
    assert "Nia New is the new director" in closed.content().body_text
