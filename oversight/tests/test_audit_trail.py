import csv
import datetime
import io

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from access_requests.tests.factories import BusinessCaseFactory, SiteFactory
from audit.services import SystemActor, record
from core.client import Client
from people.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def ids_on_page(response) -> list[int]:
    return [event.id for event in response.context["page"].rows]


FIREFOX_ON_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
)


def test_the_trail_shows_when_who_what_object_client_and_changes_in_words(client, auditor):
    actor = UserFactory(email="dana.director@example.gov.uk", profile__name="Dana Director")
    site = SiteFactory(name="Threads")
    event = record(
        actor=actor,
        action="case.identity_saved",
        obj=site,
        changes={"site": "Threads", "uses_pseudonym": [False, True]},
        client=Client(address="192.0.2.44", user_agent=FIREFOX_ON_WINDOWS),
    )
    response = client.get(reverse("oversight:audit-trail"))
    assert response.status_code == 200
    html = response.content.decode()
    assert event.id in ids_on_page(response)
    for text in [
        "Dana Director (dana.director@example.gov.uk)",
        "Identity on a site answered",
        "Site<br>Threads",
        "192.0.2.44",
        "Firefox on Windows",
        '<span class="govuk-!-font-weight-bold">Uses a pseudonym</span>: changed from No to Yes',
        f'href="{reverse("oversight:audit-event", args=[event.id])}"',
    ]:
        assert text in html, text
    # The codes and the whole browser string are for the event's own page.
    for code in ["case.identity_saved", "access_requests.site", "False", "Gecko/20100101"]:
        assert code not in html.split('id="audit-trail"')[1], code


def test_the_time_is_local_in_govuk_style_with_a_utc_datetime(client, auditor):
    with time_machine.travel(datetime.datetime(2026, 7, 1, 13, 5, 9, tzinfo=datetime.UTC)):
        record(actor=None, action="summer.event", client=Client(address=None, user_agent="M" * 120))
    html = client.get(reverse("oversight:audit-trail")).content.decode()
    # London is an hour ahead of UTC in summer.
    assert '<time datetime="2026-07-01T13:05:09Z">1 July 2026 at 2:05pm</time>' in html
    # A browser string the portal does not recognise is shortened on the trail.
    assert "M" * 39 + "…" in html
    assert "M" * 40 not in html


def test_filters_by_actor_action_object_and_date_combine(client, auditor):
    alice = UserFactory(email="alice@example.gov.uk")
    site = SiteFactory(name="X")
    other_site = SiteFactory(name="Y")
    with time_machine.travel(datetime.datetime(2026, 3, 10, 12, tzinfo=datetime.UTC)):
        old = record(actor=alice, action="site.changed", obj=site)
    with time_machine.travel(datetime.datetime(2026, 4, 10, 12, tzinfo=datetime.UTC)):
        target = record(actor=alice, action="site.changed", obj=site)
        record(actor=alice, action="site.changed", obj=other_site)
        record(actor=alice, action="site.created", obj=site)
        record(actor=SystemActor("sweep"), action="site.changed", obj=site)
    url = reverse("oversight:audit-trail")
    response = client.get(
        url,
        {
            "actor": "Alice@example.gov.uk",
            "action": "site.changed",
            "object_type": "access_requests.site",
            "object_id": str(site.pk),
            "occurred_from_0": "1",
            "occurred_from_1": "4",
            "occurred_from_2": "2026",
            "occurred_to_0": "30",
            "occurred_to_1": "4",
            "occurred_to_2": "2026",
        },
    )
    assert ids_on_page(response) == [target.id]
    system = client.get(url, {"actor": "system:sweep"})
    assert len(ids_on_page(system)) == 1
    march = client.get(
        url,
        {
            "occurred_to_0": "31",
            "occurred_to_1": "3",
            "occurred_to_2": "2026",
            "actor": alice.email,
        },
    )
    assert ids_on_page(march) == [old.id]


def test_the_action_and_object_type_choices_come_from_the_trail_in_words(client, auditor):
    record(actor=None, action="case.withdrawn")
    record(actor=None, action="auth.signed_in", obj=SiteFactory(name="Z"))
    form = client.get(reverse("oversight:audit-trail")).context["form"]
    actions = form.fields["action"].choices
    assert actions[0] == ("", "Any")
    assert {("case.withdrawn", "Withdrawn"), ("auth.signed_in", "Signed in")} <= set(actions)
    labels = [label for _, label in actions[1:]]
    assert labels == sorted(labels)
    assert ("access_requests.site", "Site") in form.fields["object_type"].choices


def test_keyset_pages_go_newest_first_and_back(client, auditor):
    events = [record(actor=None, action="bulk.event") for _ in range(120)]
    url = reverse("oversight:audit-trail")
    response = client.get(url, {"action": "bulk.event"})
    first = ids_on_page(response)
    assert first == [e.id for e in reversed(events)][:50]
    assert response.context["previous_url"] is None
    second = client.get(response.context["next_url"])
    assert "action=bulk.event" in response.context["next_url"]
    third = client.get(second.context["next_url"])
    assert len(ids_on_page(third)) == 20
    assert third.context["next_url"] is None
    back = client.get(third.context["previous_url"])
    assert ids_on_page(back) == ids_on_page(second)


def test_the_trail_makes_the_same_number_of_queries_on_any_page(
    client, auditor, django_assert_max_num_queries
):
    actors = [UserFactory() for _ in range(3)]
    for n in range(10):
        record(actor=actors[n % 3], action="few.event")
    url = reverse("oversight:audit-trail")
    with django_assert_max_num_queries(30) as captured:
        client.get(url)
    few = len(captured)  # now: the next request empties Django's query log
    more = [UserFactory() for _ in range(5)]
    for n in range(300):
        record(actor=more[n % 5], action="many.event", obj=more[n % 5])
    with django_assert_max_num_queries(few):
        response = client.get(url)
    for _ in range(4):
        response = client.get(response.context["next_url"])
    with django_assert_max_num_queries(few):
        deep = client.get(response.context["next_url"])
    assert len(ids_on_page(deep)) == 50


def test_the_trail_csv_matches_the_filtered_page_and_neutralises_formulas(client, auditor):
    for n in range(30):
        record(
            actor=None,
            action="csv.event" if n % 3 else "other.event",
            changes={"note": f"=cmd{n}"},
            object_repr=f'=HYPERLINK("x","{n}")',
        )
    params = {"action": "csv.event"}
    page_ids = ids_on_page(client.get(reverse("oversight:audit-trail"), params))
    response = client.get(reverse("oversight:audit-trail-csv"), params)
    assert response.streaming
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["Event", "When", "Who", "Action"]
    assert [int(row[0]) for row in rows[1:]] == page_ids
    assert all(row[6].startswith("'=HYPERLINK") for row in rows[1:])
    when = datetime.datetime.fromisoformat(rows[1][1])
    assert abs(when - timezone.now()) < datetime.timedelta(minutes=5)


def test_staff_cannot_see_the_trail(client):
    client.force_login(UserFactory())
    assert client.get(reverse("oversight:audit-trail")).status_code == 403
    assert client.get(reverse("oversight:audit-trail-csv")).status_code == 403


def test_an_events_own_page_shows_everything_recorded_with_the_whole_browser_string(
    client, auditor
):
    case = BusinessCaseFactory(submitted=True)
    long_agent = FIREFOX_ON_WINDOWS + " Extension/2.0" * 30
    event = record(
        actor=case.requester,
        action="case.answers_saved",
        obj=case,
        changes={"tier": ["", "passive"], "end_date": [None, "2027-02-02"]},
        client=Client(address="192.0.2.44", user_agent=long_agent),
    )
    trail = client.get(reverse("oversight:audit-trail")).content.decode()
    assert "Extension/2.0" not in trail  # the trail says "Firefox on Windows"

    response = client.get(reverse("oversight:audit-event", args=[event.id]))
    assert response.status_code == 200
    html = response.content.decode()
    for text in [
        '<h1 class="govuk-heading-l">Answers saved</h1>',
        "Recorded as case.answers_saved",
        f"Business case {case.reference}",
        "192.0.2.44",
        "Firefox on Windows",
        long_agent,
        "Kind of access</span>: set to Passive monitoring",
        "End date</span>: set to 2 February 2027",
        f'href="{reverse("oversight:case-detail", args=[case.pk])}"',
    ]:
        assert text in html, text


def test_an_event_that_does_not_exist_is_not_found(client, auditor):
    assert client.get(reverse("oversight:audit-event", args=[999999])).status_code == 404


def test_every_value_a_person_could_have_typed_is_escaped_on_the_trail(client, auditor):
    """The rows are filled in as one fragment, not by the template engine's autoescaping:
    names, object labels, changed values and browser strings written by people arrive as
    text, never as markup."""
    hostile = '<script>alert("x")</script>'
    actor = UserFactory(email="eve@example.gov.uk", profile__name=f"Eve {hostile}")
    site = SiteFactory(name=f"Site {hostile}")
    record(
        actor=actor,
        action="case.identity_saved",
        obj=site,
        changes={"site": f"Threads {hostile}", "uses_pseudonym": [False, True]},
        client=Client(address="192.0.2.7", user_agent=f"Agent {hostile}"),
    )
    record(actor=None, action=f"made.up {hostile}", object_repr=f"Thing {hostile}")
    html = client.get(reverse("oversight:audit-trail")).content.decode()
    table = html.split('id="audit-trail"')[1]
    assert "<script>alert" not in table
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in table
