"""Ask again with these answers: a rejected, withdrawn or lapsed case copied into a new
draft (its sites and identities, kind of access, who pays, PC and business need; the
declarations asked again), shown as its task list. Only its requester may, and only then."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from access_requests.errors import NotAskableAgain
from access_requests.models import BusinessCase
from access_requests.services.case_copies import business_case_ask_again
from access_requests.tests.factories import BusinessCaseFactory, SiteFactory
from audit.models import AuditEvent
from core.client import Client
from people.tests.factories import UserFactory

CLOSED_WITHOUT_ACCESS = ["rejected", "withdrawn", "lapsed"]


def url(name, case):
    return reverse(f"access_requests:{name}", kwargs={"pk": case.pk})


def case_in(status: str, **kwargs) -> BusinessCase:
    """A case in any status, with the fields its constraints ask for."""
    now = timezone.now()
    if status == "draft":
        return BusinessCaseFactory(**kwargs)
    extra = {
        "submitted": {},
        "approved": {"decided_at": now},
        "rejected": {"decided_at": now, "decision_reason": "Not enough need shown."},
        "withdrawn": {"withdrawn_at": now},
        "lapsed": {"lapsed_at": now},
    }[status]
    return BusinessCaseFactory(submitted=True, status=status, **extra, **kwargs)


@pytest.mark.django_db
@pytest.mark.parametrize("status", CLOSED_WITHOUT_ACCESS)
def test_asking_again_copies_the_answers_into_a_new_draft_shown_as_its_task_list(client, status):
    linkedin, x = SiteFactory(name="LinkedIn"), SiteFactory(name="X")
    old = case_in(status, sites=[linkedin, x])
    old.site_identities.filter(site=x).update(
        display_name="Press Team", uses_pseudonym=True, pseudonym_reason="A team account"
    )
    client.force_login(old.requester)
    response = client.post(url("case-ask-again", old), REMOTE_ADDR="203.0.113.7")

    new = BusinessCase.objects.get(asked_again_from=old)
    assert response.status_code == 302 and response.url == url("case-detail", new)
    assert new.status == "draft" and new.requester == old.requester and new.reference is None
    assert (new.tier, new.purpose, new.audience, new.integration) == (
        old.tier,
        old.purpose,
        old.audience,
        old.integration,
    )
    assert (new.start_date, new.end_date) == (old.start_date, old.end_date)  # still good
    identities = {i.site.name: i for i in new.site_identities.select_related("site")}
    assert set(identities) == {"LinkedIn", "X"}
    assert identities["X"].display_name == "Press Team"
    assert identities["X"].pseudonym_reason == "A team account"
    # The declarations are made again for each request sent.
    assert not any(
        getattr(new, name)
        for name in (
            "declared_read_guidance",
            "declared_civil_service_code",
            "declared_no_protected_information",
            "declared_media_to_press_office",
            "declared_separate_identities",
        )
    )
    old.refresh_from_db()
    assert old.status == status  # the old case stays as it was

    event = AuditEvent.objects.get(action="case.asked_again")
    assert event.object_id == str(new.pk)
    assert event.actor_id == old.requester.pk and event.client_address == "203.0.113.7"
    assert event.changes == {"status": [None, "draft"], "asked_again_from": old.reference}

    html = client.get(response.url).content.decode()
    assert "govuk-notification-banner--success" in html
    assert f"Your new draft request has the answers of {old.reference}." in html
    assert "govuk-task-list" in html
    assert f'href="{url("case-detail", old)}"' in html  # back to the request it came from


@pytest.mark.django_db
def test_the_active_tier_keeps_who_pays_and_the_pc_while_they_still_hold():
    old = case_in("rejected", active=True, pc_choice="existing", pc_asset_tag="PC-0042")
    new = business_case_ask_again(case=old, actor=old.requester)
    assert new.paying_business_unit == old.paying_business_unit
    assert new.budget_holder == old.budget_holder
    assert new.budget_holder_name == "Jo Budget"
    assert (new.pc_choice, new.pc_asset_tag) == ("existing", "PC-0042")

    # A budget holder who has since left the paying unit is asked again.
    gone = case_in("withdrawn", active=True)
    gone.budget_holder.profile.business_unit = UserFactory().profile.business_unit
    gone.budget_holder.profile.save()
    again = business_case_ask_again(case=gone, actor=gone.requester)
    assert again.paying_business_unit == gone.paying_business_unit
    assert again.budget_holder is None and again.budget_holder_name == ""


@pytest.mark.django_db
def test_dates_that_have_passed_and_sites_no_longer_offered_are_asked_again(client):
    kept, withdrawn_site = SiteFactory(name="LinkedIn"), SiteFactory(name="Bebo")
    past = timezone.localdate() - datetime.timedelta(days=10)
    old = case_in(
        "lapsed",
        sites=[kept, withdrawn_site],
        start_date=past,
        end_date=past + datetime.timedelta(30),
    )
    withdrawn_site.is_active = False
    withdrawn_site.save()
    new = business_case_ask_again(case=old, actor=old.requester)
    assert (new.start_date, new.end_date) == (None, None)
    assert [i.site.name for i in new.site_identities.all()] == ["LinkedIn"]


@pytest.mark.django_db
def test_asking_twice_returns_the_draft_already_under_way(client):
    old = case_in("rejected")
    client.force_login(old.requester)
    first = client.post(url("case-ask-again", old))
    second = client.post(url("case-ask-again", old))
    assert first.url == second.url
    assert BusinessCase.objects.filter(asked_again_from=old).count() == 1
    assert AuditEvent.objects.filter(action="case.asked_again").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["draft", "submitted", "approved"])
def test_a_draft_a_case_awaiting_a_decision_or_an_approved_one_is_not_asked_again(client, status):
    old = case_in(status)
    client.force_login(old.requester)
    response = client.post(url("case-ask-again", old), follow=True)
    assert response.redirect_chain[0][0] == url("case-detail", old)
    assert "Only a rejected, withdrawn or expired request can be asked again" in (
        response.content.decode()
    )
    assert BusinessCase.objects.count() == 1
    with pytest.raises(NotAskableAgain):
        business_case_ask_again(case=old, actor=old.requester)
    assert "Ask again with these answers" not in response.content.decode()


@pytest.mark.django_db
def test_nobody_but_the_requester_asks_again_with_their_answers(client):
    old = case_in("rejected")
    someone = UserFactory()
    client.force_login(someone)
    assert client.post(url("case-ask-again", old)).status_code == 404
    assert BusinessCase.objects.count() == 1
    with pytest.raises(PermissionDenied):
        business_case_ask_again(case=old, actor=someone, client=Client("203.0.113.1", "x"))
    assert not AuditEvent.objects.filter(action="case.asked_again").exists()


@pytest.mark.django_db
def test_asking_again_is_a_post_a_link_changes_nothing(client):
    old = case_in("withdrawn")
    client.force_login(old.requester)
    assert client.get(url("case-ask-again", old)).status_code == 405
    assert BusinessCase.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "offered"),
    [
        ("rejected", True),
        ("withdrawn", True),
        ("lapsed", True),
        ("submitted", False),
        ("approved", False),
    ],
)
def test_the_case_page_offers_to_ask_again_only_when_closed_without_access(client, status, offered):
    old = case_in(status)
    client.force_login(old.requester)
    html = client.get(url("case-detail", old)).content.decode()
    assert ("Ask again with these answers" in html) is offered
    assert (f'action="{url("case-ask-again", old)}"' in html) is offered
