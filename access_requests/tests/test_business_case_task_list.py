"""The draft's page is a GOV.UK task list: each question page a task, in the journey's order,
"Completed", "Incomplete" or "Cannot start yet", and "Check and send" last."""

import datetime
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone

from access_requests.models import AccessTier, BusinessCase, SiteIdentity
from access_requests.services import business_cases as services
from access_requests.tests.factories import BusinessCaseFactory, SiteFactory
from people.tests.factories import UserFactory


class TaskListParser(HTMLParser):
    """Every `govuk-task-list__item` on a page: (title, status, link or None)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tasks: list[list] = []
        self._part = None  # "title", "hint" or "status" while inside one

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        if "govuk-task-list__item" in classes:
            self.tasks.append(["", "", None])
        elif not self.tasks:
            return
        elif "govuk-task-list__link" in classes:
            self.tasks[-1][2] = dict(attrs)["href"]
            self._part = "title"
        elif "govuk-task-list__name-and-hint" in classes:
            self._part = "title"
        elif "govuk-task-list__hint" in classes:
            self._part = "hint"
        elif "govuk-task-list__status" in classes:
            self._part = "status"

    def handle_endtag(self, tag):
        if tag == "li":
            self._part = None

    def handle_data(self, data):
        if self._part in ("title", "status") and data.strip():
            index = 0 if self._part == "title" else 1
            self.tasks[-1][index] = (self.tasks[-1][index] + " " + data.strip()).strip()


def tasks_on(client, case) -> list[tuple]:
    response = client.get(reverse("access_requests:case-detail", kwargs={"pk": case.pk}))
    assert response.status_code == 200
    parser = TaskListParser()
    parser.feed(response.content.decode())
    return [tuple(task) for task in parser.tasks]


def url(name, case, **kwargs):
    return reverse(f"access_requests:{name}", kwargs={"pk": case.pk, **kwargs})


@pytest.mark.django_db
def test_a_new_draft_lists_every_section_and_what_cannot_start_yet(client):
    person = UserFactory()
    case = services.business_case_start(requester=person)
    client.force_login(person)
    assert tasks_on(client, case) == [
        ("Which sites you need", "Incomplete", url("case-sites", case)),
        ("What kind of access you need", "Incomplete", url("case-tier", case)),
        ("Your business need", "Incomplete", url("case-need", case)),
        ("When you need access", "Cannot start yet", None),
        ("Your identity on each site", "Cannot start yet", None),
        ("Declarations", "Incomplete", url("case-declarations", case)),
        ("Check your answers and send your request", "Cannot start yet", None),
    ]
    html = client.get(url("case-detail", case)).content.decode()
    assert "You have completed 0 of 6 sections." in html
    assert "Choose what kind of access you need first" in html
    assert "Choose which sites you need first" in html


@pytest.mark.django_db
def test_a_complete_passive_draft_has_every_section_completed_and_can_be_sent(client):
    case = BusinessCaseFactory(sites=[SiteFactory(name="LinkedIn"), SiteFactory(name="X")])
    client.force_login(case.requester)
    linkedin, x = (identity.site for identity in case.site_identities.order_by("site__name"))
    assert tasks_on(client, case) == [
        ("Which sites you need", "Completed", url("case-sites", case)),
        ("What kind of access you need", "Completed", url("case-tier", case)),
        ("Your business need", "Completed", url("case-need", case)),
        ("When you need access", "Completed", url("case-dates", case)),
        ("Your identity on LinkedIn", "Completed", url("case-identity", case, site_pk=linkedin.pk)),
        ("Your identity on X", "Completed", url("case-identity", case, site_pk=x.pk)),
        ("Declarations", "Completed", url("case-declarations", case)),
        ("Check your answers and send your request", "Incomplete", url("case-check", case)),
    ]
    html = client.get(url("case-detail", case)).content.decode()
    assert "You have completed 7 of 7 sections." in html
    # Completed is plain text; only what still needs doing is a (blue) tag.
    assert html.count("govuk-tag--blue") == 1
    assert "Who pays for the standalone PC" not in html


@pytest.mark.django_db
def test_the_active_tier_adds_who_pays_after_the_kind_of_access(client):
    case = BusinessCaseFactory(tier=AccessTier.ACTIVE)  # who pays not answered yet
    client.force_login(case.requester)
    titles = [(title, status) for title, status, _ in tasks_on(client, case)]
    assert titles[:4] == [
        ("Which sites you need", "Completed"),
        ("What kind of access you need", "Completed"),
        ("Who pays for the standalone PC", "Incomplete"),
        ("Your business need", "Completed"),
    ]
    assert titles[-1] == ("Check your answers and send your request", "Cannot start yet")

    answered = BusinessCaseFactory(active=True)
    client.force_login(answered.requester)
    tasks = tasks_on(client, answered)
    assert tasks[2] == (
        "Who pays for the standalone PC",
        "Completed",
        url("case-standalone-pc", answered),
    )
    assert tasks[-1][1] == "Incomplete"


@pytest.mark.django_db
def test_unanswered_identities_dates_gone_stale_and_declarations_are_incomplete(client):
    site = SiteFactory(name="LinkedIn")
    case = BusinessCaseFactory(sites=[site], declared_civil_service_code=False)
    SiteIdentity.objects.filter(business_case=case).update(display_name="")
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    BusinessCase.objects.filter(pk=case.pk).update(start_date=yesterday)
    client.force_login(case.requester)
    statuses = {title: status for title, status, _ in tasks_on(client, case)}
    assert statuses["Your identity on LinkedIn"] == "Incomplete"
    assert statuses["When you need access"] == "Incomplete"
    assert statuses["Declarations"] == "Incomplete"
    assert statuses["Which sites you need"] == "Completed"
    assert statuses["Check your answers and send your request"] == "Cannot start yet"


@pytest.mark.django_db
def test_the_drafts_page_shows_no_red_not_confirmed_tags(client):
    """The draft's page used to be the summary of a sent case, with a red "Not confirmed"
    tag on each declaration not yet made."""
    person = UserFactory()
    case = services.business_case_start(requester=person)
    client.force_login(person)
    html = client.get(url("case-detail", case)).content.decode()
    assert "Not confirmed" not in html and "govuk-tag--red" not in html
    assert "govuk-task-list" in html
    assert f'href="{url("case-delete", case)}"' in html


@pytest.mark.django_db
def test_your_requests_leads_to_the_drafts_task_list(client):
    case = BusinessCaseFactory()
    client.force_login(case.requester)
    html = client.get(reverse("access_requests:case-list")).content.decode()
    assert f'href="{url("case-detail", case)}"' in html
    assert "govuk-task-list" in client.get(url("case-detail", case)).content.decode()


@pytest.mark.django_db
def test_a_sent_case_page_has_no_task_list(client):
    case = BusinessCaseFactory(submitted=True)
    client.force_login(case.requester)
    html = client.get(url("case-detail", case)).content.decode()
    assert "govuk-task-list" not in html
    assert f"Request {case.reference}" in html
