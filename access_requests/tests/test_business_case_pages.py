"""Your requests, the case page and its timeline, delete and withdraw, and who may see what."""

import datetime
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from access_requests.models import BusinessCase
from access_requests.services import business_cases as services
from access_requests.tests.factories import AccessGrantFactory, BusinessCaseFactory, SiteFactory
from audit.services import SystemActor, record
from people.tests.factories import UserFactory


def url(name, case):
    return reverse(f"access_requests:{name}", kwargs={"pk": case.pk})


@pytest.mark.django_db
def test_your_requests_lists_reference_sites_tier_status_and_dates_newest_first(client):
    person = UserFactory()
    older = BusinessCaseFactory(
        requester=person, submitted=True, sites=[SiteFactory(name="Reddit")]
    )
    newer = BusinessCaseFactory(requester=person, sites=[SiteFactory(name="TikTok")])
    BusinessCaseFactory(submitted=True)  # someone else's
    client.force_login(person)
    response = client.get(reverse("access_requests:case-list"))
    html = response.content.decode()
    assert [c.pk for c in response.context["cases"]] == [newer.pk, older.pk]
    assert older.reference in html and "Draft" in html
    assert "Reddit" in html and "TikTok" in html
    assert "Awaiting decision" in html and "Passive monitoring" in html
    assert older.start_date.strftime("%-d %b %Y") in html
    assert html.count('class="govuk-table__row"') == 3  # header + 2


@pytest.mark.django_db
def test_your_requests_uses_the_same_number_of_queries_however_many_cases(
    client, django_assert_max_num_queries
):
    person = UserFactory()
    site = SiteFactory(name="LinkedIn")
    client.force_login(person)
    BusinessCaseFactory(requester=person, sites=[site])
    with django_assert_max_num_queries(10) as few:
        client.get(reverse("access_requests:case-list"))
    for _ in range(30):
        BusinessCaseFactory(requester=person, submitted=True, sites=[site, SiteFactory()])
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("access_requests:case-list"))
    assert len(response.context["cases"]) == 25
    assert "Page 1 of 2" in response.content.decode()
    page_two = client.get(reverse("access_requests:case-list") + "?page=2")
    assert len(page_two.context["cases"]) == 6


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name",
    [
        "case-detail",
        "case-continue",
        "case-sites",
        "case-tier",
        "case-standalone-pc",
        "case-need",
        "case-dates",
        "case-declarations",
        "case-check",
        "case-confirmation",
        "case-delete",
        "case-withdraw",
    ],
)
@pytest.mark.parametrize("submitted", [False, True])
def test_another_persons_case_is_404_drafts_included(client, name, submitted):
    case = BusinessCaseFactory(submitted=submitted)
    client.force_login(UserFactory())
    assert client.get(url(name, case)).status_code == 404
    # GET-only pages answer 405 to a POST before looking anything up.
    assert client.post(url(name, case), {"tier": "active"}).status_code in (404, 405)
    case.refresh_from_db()
    assert case.tier == "passive"


@pytest.mark.django_db
def test_another_persons_identity_page_is_404(client):
    site = SiteFactory(name="LinkedIn")
    case = BusinessCaseFactory(sites=[site])
    client.force_login(UserFactory())
    response = client.get(
        reverse("access_requests:case-identity", kwargs={"pk": case.pk, "site_pk": site.pk})
    )
    assert response.status_code == 404


@pytest.mark.django_db
def test_the_case_page_shows_answers_routing_decision_and_timeline(client):
    person = UserFactory(profile__name="Sam Taylor")
    case = services.business_case_start(requester=person)
    site = SiteFactory(name="LinkedIn")
    services.business_case_set_sites(case=case, actor=person, sites=[site])
    BusinessCase.objects.filter(pk=case.pk).update(
        tier="passive",
        purpose="Monitor debate.",
        audience="Public.",
        integration="Plan.",
        start_date=timezone.localdate(),
        end_date=timezone.localdate(),
        status="approved",
        reference="SNS-2026-00042",
        submitted_at=timezone.now(),
        decided_at=timezone.now(),
        decision_reason="Clear need.",
        routing_note="Your director was away, so a deputy decided.",
    )
    case.refresh_from_db()
    grant = AccessGrantFactory(business_case=case)
    record(actor=UserFactory(), action="grant.provisioned", obj=grant)
    client.force_login(person)
    html = client.get(url("case-detail", case)).content.decode()
    assert "Request SNS-2026-00042" in html
    assert "Monitor debate." in html and "LinkedIn" in html
    assert "Your director was away, so a deputy decided." in html
    assert "Clear need." in html and "Approved" in html
    assert "A decided request cannot be changed" in html
    assert "Withdraw request" not in html
    for label in ["Draft started", "Draft answered", "Access set up by ICT"]:
        assert label in html
    # A decided case's answers cannot be changed.
    response = client.post(
        url("case-need", case), {"purpose": "x", "audience": "y", "integration": "z"}
    )
    assert response.url == url("case-detail", case)
    case.refresh_from_db()
    assert case.purpose == "Monitor debate."


@pytest.mark.django_db
def test_a_draft_can_be_deleted_after_confirming(client):
    case = BusinessCaseFactory()
    client.force_login(case.requester)
    html = client.get(url("case-delete", case)).content.decode()
    assert "Are you sure you want to delete this draft?" in html
    assert BusinessCase.objects.filter(pk=case.pk).exists()  # GET changes nothing
    response = client.post(url("case-delete", case), follow=True)
    assert "Your draft request has been deleted" in response.content.decode()
    assert not BusinessCase.objects.filter(pk=case.pk).exists()


@pytest.mark.django_db
def test_a_sent_case_cannot_be_deleted(client):
    case = BusinessCaseFactory(submitted=True)
    client.force_login(case.requester)
    response = client.post(url("case-delete", case))
    assert response.url == url("case-detail", case)
    assert BusinessCase.objects.filter(pk=case.pk).exists()


@pytest.mark.django_db
def test_a_submitted_case_can_be_withdrawn_with_an_optional_reason(client):
    case = BusinessCaseFactory(submitted=True)
    client.force_login(case.requester)
    assert "Withdraw request" in client.get(url("case-detail", case)).content.decode()
    assert "Why are you withdrawing" in client.get(url("case-withdraw", case)).content.decode()
    response = client.post(url("case-withdraw", case), {"reason": "x" * 1001})
    assert "The reason must be 1000 characters or fewer" in response.content.decode()
    response = client.post(url("case-withdraw", case), {"reason": "Project cancelled"}, follow=True)
    html = response.content.decode()
    assert f"Your request {case.reference} has been withdrawn" in html
    assert "Project cancelled" in html and "Withdrawn" in html
    case.refresh_from_db()
    assert case.status == BusinessCase.Status.WITHDRAWN


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["draft", "approved", "rejected", "withdrawn", "lapsed"])
def test_withdrawing_is_not_offered_unless_awaiting_a_decision(client, status):
    extra = {"decided_at": timezone.now()} if status in ("approved", "rejected") else {}
    case = BusinessCaseFactory(submitted=status != "draft", status=status, **extra)
    client.force_login(case.requester)
    assert "Withdraw request" not in client.get(url("case-detail", case)).content.decode()
    response = client.post(url("case-withdraw", case), {"reason": "late"})
    assert response.url == url("case-detail", case)
    case.refresh_from_db()
    assert case.status == status


@pytest.mark.django_db
def test_the_guidance_page_has_its_sections_principles_and_resources(client):
    client.force_login(UserFactory())
    html = client.get(reverse("guidance")).content.decode()
    for text in [
        "Identify yourself",
        "Separate professional and personal identities",
        "aggregation of unclassified data",
        "Be integrated",
        "Be a civil servant",
        "Engaging through social media",
        "Participation online",
        "Managing the risk from online social networking",
        "Civil service code",
    ]:
        assert text in html, text


@pytest.mark.django_db
def test_the_start_page_names_the_risks_and_links_to_the_guidance(client):
    client.force_login(UserFactory())
    html = client.get(reverse("access_requests:case-start")).content.decode()
    assert "aggregation of unclassified data" in html
    assert "too much personal information" in html
    assert "not who they say they are" in html
    assert "hostile organisations" in html
    assert "media interest in you" in html
    assert 'href="/guidance/"' in html
    assert not BusinessCase.objects.exists()  # GET starts nothing


@pytest.mark.django_db
def test_the_start_page_offers_to_continue_an_unsent_draft(client):
    draft = BusinessCaseFactory()
    client.force_login(draft.requester)
    html = client.get(reverse("access_requests:case-start")).content.decode()
    assert "You have 1 unsent request." in html
    assert url("case-continue", draft) in html


@pytest.mark.django_db
def test_the_timeline_says_in_words_what_happened_when_and_who_with_draft_saves_as_one_line(
    client,
):
    person = UserFactory(profile__name="Sam Taylor")
    director = UserFactory(profile__name="Dana Director", email="dana@example.gov.uk")
    site = SiteFactory(name="LinkedIn")
    with time_machine.travel(datetime.datetime(2026, 12, 4, 15, 5, tzinfo=datetime.UTC)):
        case = services.business_case_start(requester=person)
        services.business_case_set_sites(case=case, actor=person, sites=[site])
        services.business_case_save_answers(case=case, actor=person, answers={"tier": "passive"})
        services.business_case_save_identity(
            case=case,
            site=site,
            actor=person,
            display_name="Sam Taylor",
            uses_pseudonym=True,
            pseudonym_reason="Safety",
            identifies_as_official=True,
            not_official_reason="",
        )
    with time_machine.travel(datetime.datetime(2026, 12, 4, 16, 30, tzinfo=datetime.UTC)):
        services.business_case_save_answers(
            case=case, actor=person, answers={"purpose": "Monitor debate."}
        )
        record(actor=None, action="approval.opened", obj=case)
        record(actor=director, action="approval.decided", obj=case)
        record(actor=SystemActor("outbox"), action="grant.expired", obj=case)
    # A draft's page is its task list; the timeline is on the page of a case sent.
    BusinessCase.objects.filter(pk=case.pk).update(
        status=BusinessCase.Status.SUBMITTED,
        reference="SNS-2026-09999",
        submitted_at=datetime.datetime(2026, 12, 4, 16, 0, tzinfo=datetime.UTC),
    )
    client.force_login(person)
    html = client.get(url("case-detail", case)).content.decode()
    timeline = html.split("What has happened")[1]
    headings = re.findall(
        r'<h3 class="govuk-heading-s govuk-!-margin-bottom-1">([^<]*)</h3>', timeline
    )
    assert headings == [
        "Draft started",
        "Draft answered",
        "Approver&#x27;s link opened",
        "Decision made",
        "Access expired",
    ]
    # The last save's time, in GOV.UK style and local time (London is on UTC in December).
    assert (
        '<time datetime="2026-12-04T16:30:00Z">4 December 2026 at 4:30pm</time> by you' in timeline
    )
    assert "by <bdi>someone with the approver&#x27;s emailed link, not signed in</bdi>" in timeline
    assert "by <bdi>Dana Director</bdi>" in timeline
    assert "by <bdi>the portal</bdi>" in timeline
    for code in ["case.", "approval.", "anonymous", "dana@example.gov.uk", "p.m."]:
        assert code not in timeline, code


@pytest.mark.django_db
def test_the_case_page_takes_the_same_queries_however_many_sites_approvals_and_events(
    client, django_assert_max_num_queries
):
    """The case with its grant, paying unit and budget holder, its identities, its approval
    requests (for the stage) and its timeline are one query each (prepared), whatever
    their number; the page still shows them all."""
    from approvals.models import ApprovalRequest
    from approvals.tests.factories import ApprovalRequestFactory

    person = UserFactory(profile__name="Sam Taylor", profile__job_title="Press officer")
    case = BusinessCaseFactory(
        requester=person, submitted=True, active=True, sites=[SiteFactory(name="LinkedIn")]
    )
    director = UserFactory(profile__name="Dana Director")
    approval = ApprovalRequestFactory(
        business_case=case,
        approver=director,
        status=ApprovalRequest.Status.DECIDED,
        decision=ApprovalRequest.Decision.APPROVE,
        decided_at=timezone.now(),
    )
    record(actor=director, action="approval.decided", obj=approval)
    client.force_login(person)
    client.get(url("case-detail", case))  # the session and the prepared statements
    with django_assert_max_num_queries(9) as few:
        html = client.get(url("case-detail", case)).content.decode()
    assert "Jo Budget" in html and "Cost centre" in html
    assert "Yes, with my job title (Press officer)" in html
    assert "Approved by your director, waiting for the budget holder." in html
    assert "by <bdi>Dana Director</bdi>" in html

    holder = UserFactory(profile__name="Bea Budget")
    ApprovalRequestFactory(
        business_case=case,
        approver=holder,
        stage=ApprovalRequest.Stage.BUDGET_HOLDER,
        routed_because=ApprovalRequest.Reason.BUDGET_HOLDER,
    )
    for name in ["Reddit", "TikTok", "Mastodon"]:
        site = SiteFactory(name=name)
        case.site_identities.create(site=site, display_name="Sam", identifies_as_official=True)
    BusinessCase.objects.filter(pk=case.pk).update(
        status=BusinessCase.Status.APPROVED, decided_at=timezone.now()
    )
    grant = AccessGrantFactory(business_case=case, holder=person)
    for _ in range(5):
        record(actor=UserFactory(), action="grant.provisioned", obj=grant)
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = client.get(url("case-detail", case)).content.decode()
    assert all(f"Your identity on {name}" in html for name in ["Reddit", "TikTok", "Mastodon"])
    assert html.count("Access set up by ICT") == 5
    assert "See your access" in html
