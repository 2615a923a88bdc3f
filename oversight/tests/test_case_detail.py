import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from access_requests.models import AccessGrant
from access_requests.tests.factories import BusinessCaseFactory
from approvals.models import ApprovalRequest
from approvals.tests.factories import ApprovalRequestFactory
from audit.services import SystemActor, record
from core.client import Client
from notifications.models import OutboundEmail
from people.models import Role
from people.tests.factories import UserFactory

from .factories import grant_held

pytestmark = pytest.mark.django_db


def test_the_case_page_shows_answers_decision_approver_reason_and_full_timeline(client):
    director = UserFactory(profile__name="Dana Director", role=Role.DIRECTOR)
    grant = grant_held(name="Sam Holder", approver=director)
    case = grant.business_case
    case.purpose = "Answer questions about passports on Mastodon."
    case.save()
    approval = ApprovalRequestFactory(
        business_case=case,
        approver=director,
        status=ApprovalRequest.Status.DECIDED,
        decision=ApprovalRequest.Decision.APPROVE,
        decision_reason="Clear benefit for the passport helpline.",
        decided_at=timezone.now(),
    )
    email = OutboundEmail.objects.create(
        to=grant.holder.email,
        subject="Approved",
        body_text="…",
        template="case_approved",
        object_type="access_requests.businesscase",
        object_id=str(case.pk),
    )
    record(actor=grant.holder, action="case.submitted", obj=case, client=Client("192.0.2.1", ""))
    record(actor=director, action="approval.decided", obj=approval, changes={"decision": "approve"})
    record(actor=director, action="grant.created", obj=grant)
    record(actor=SystemActor("outbox"), action="email.sent", obj=email)
    unrelated = BusinessCaseFactory(submitted=True)
    record(actor=None, action="case.submitted", obj=unrelated)

    client.force_login(UserFactory(role=Role.AUDITOR))
    register = client.get(reverse("oversight:register")).content.decode()
    url = reverse("oversight:case-detail", args=[case.pk])
    assert url in register
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    for text in [
        case.reference,
        "Sam Holder",
        "Answer questions about passports on Mastodon.",
        "Dana Director",
        "Clear benefit for the passport helpline.",
        "Approved",
        "LinkedIn",
    ]:
        assert text in html, text
    timeline = [event.action for event in response.context["file"].timeline]
    assert timeline == ["case.submitted", "approval.decided", "grant.created", "email.sent"]
    assert "192.0.2.1" in html
    assert "Decision</span>: Approve" in html
    for words in ["Sent for a decision", "Decision made", "Access granted", "Email sent"]:
        assert f'<h3 class="govuk-heading-s govuk-!-margin-bottom-1">{words}</h3>' in html
    assert "by the portal, sending emails" in html


def test_an_unknown_case_is_not_found(client):
    client.force_login(UserFactory(role=Role.ADMIN))
    assert client.get(reverse("oversight:case-detail", args=[999999])).status_code == 404


def test_the_case_page_names_everyone_on_the_grant_in_a_fixed_number_of_queries(
    client, django_assert_max_num_queries
):
    """The requester, the grant's approver, provisioner and revoker and the case's approvers
    are read in one query of people (not joined to the case or the grant, which made
    nine-table joins); the page still names them all. The page's own queries are prepared
    (`core.prepared`): the case with its grant, its approvals, the grant's sites, its latest
    access review, the people, the identities, the emails and the timeline."""
    approver = UserFactory(profile__name="Ava Approver", role=Role.DIRECTOR)
    director = UserFactory(profile__name="Dev Director", role=Role.DIRECTOR)
    ict = UserFactory(profile__name="Ida ICT", role=Role.ICT)
    grant = grant_held(
        name="Rae Revoked",
        approver=approver,
        approved_on_behalf_of=director,
        provisioned_by=ict,
        status=AccessGrant.Status.REVOKED,
    )
    client.force_login(UserFactory(role=Role.AUDITOR))
    url = reverse("oversight:case-detail", args=[grant.business_case.pk])
    client.get(url)  # warm the session and permission caches

    # The session, the user, their permissions and groups, and the page's eight.
    with django_assert_max_num_queries(12):
        response = client.get(url)

    html = response.content.decode()
    assert "Requested by <bdi>Rae Revoked</bdi>" in html
    assert "by <bdi>Ava Approver</bdi>" in html
    assert "<bdi>Ava Approver</bdi> on behalf of <bdi>Dev Director</bdi>" in html
    assert " by <bdi>Ida ICT</bdi>" in html
    assert "by <bdi>Rae Revoked</bdi>: Misuse" in html


def test_the_timeline_is_written_as_the_template_wrote_it_with_every_value_escaped(client):
    grant = grant_held(name="Sam Holder")
    case = grant.business_case
    event = record(
        actor=grant.holder,
        action="case.<edited>",
        obj=case,
        object_repr="<b>Case</b> & co",
        client=Client(address="192.0.2.7", user_agent=""),
        changes={"purpose": ["<old>", "new & better"]},
    )
    opened = record(actor=None, action="approval.opened", obj=case, object_repr="")

    client.force_login(UserFactory(role=Role.AUDITOR))
    html = client.get(reverse("oversight:case-detail", args=[case.pk])).content.decode()

    local = timezone.localtime(event.occurred_at)
    utc = event.occurred_at.astimezone(datetime.UTC)
    hour = local.hour % 12 or 12
    when = f"{local.day} {local:%B %Y} at {hour}:{local:%M}{'am' if local.hour < 12 else 'pm'}"
    when = when.replace(":00am", "am").replace(":00pm", "pm")
    when = when.replace("at 12am", "at midnight").replace("at 12pm", "at midday")
    assert (
        '\n  <li class="govuk-!-margin-bottom-4">\n'
        '    <h3 class="govuk-heading-s govuk-!-margin-bottom-1">&lt;edited&gt;</h3>\n'
        '    <p class="govuk-body-s govuk-!-margin-bottom-1">'
        f'<time datetime="{utc:%Y-%m-%dT%H:%M:%SZ}">{when}</time>'
        f" by Sam Holder ({grant.holder.email}) on business case &lt;b&gt;Case&lt;/b&gt; &amp; co"
        " from 192.0.2.7. "
        f'<a class="govuk-link" href="/oversight/audit-trail/{event.id}/">Event {event.id}'
        '<span class="govuk-visually-hidden"> in full</span></a></p>\n'
        '    <ul class="govuk-list govuk-!-font-size-16 govuk-!-margin-bottom-0">'
        '<li><span class="govuk-!-font-weight-bold">What and why</span>: '
        "changed from &lt;old&gt; to new &amp; better</li></ul>\n\n  </li>\n  "
    ) in html
    # Opening the approver's link without signing in is said as what it is.
    assert (
        "by someone with the approver&#x27;s emailed link, not signed in. "
        f'<a class="govuk-link" href="/oversight/audit-trail/{opened.id}/">'
    ) in html


def test_a_renewal_links_the_case_it_renews_without_a_query_more(
    client, django_assert_max_num_queries
):
    renewed = grant_held(name="Rae Renewer")
    case = BusinessCaseFactory(
        requester=renewed.holder, submitted=True, renewal_of=renewed, tier=renewed.tier
    )
    client.force_login(UserFactory(role=Role.AUDITOR))
    url = reverse("oversight:case-detail", args=[case.pk])
    client.get(url)
    with django_assert_max_num_queries(12):
        html = client.get(url).content.decode()
    renewed_url = reverse("oversight:case-detail", args=[renewed.business_case_id])
    assert (
        f'<a class="govuk-link" href="{renewed_url}">{renewed.business_case.reference}</a>'
    ) in html
