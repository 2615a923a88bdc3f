"""The register, its CSV and the case file show who agreed to an active-tier grant's cost
(the budget holder, or the director's approval counting for it) and each grant's latest
access review outcome, without a query per row."""

import csv
import datetime
import io
import re

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from access_requests.models import BusinessCase
from approvals.models import ApprovalRequest
from approvals.services import approval_decide, case_lapse_due
from approvals.tests.test_budget_holder import active_case, director_request
from people.models import Role
from people.tests.factories import UserFactory
from reviews import services as reviews
from reviews.tests.factories import department, grant_held_in

pytestmark = pytest.mark.django_db


def csv_rows(response):
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def agreed_by_budget_holder():
    """An active-tier grant whose budget holder, Bea Budget, agreed in the second stage."""
    case, director, holder = active_case()
    approval_decide(approval_request=director_request(case), decision="approve", actor=director)
    asked = case.approval_requests.get(stage=ApprovalRequest.Stage.BUDGET_HOLDER)
    approval_decide(approval_request=asked, decision="approve", actor=holder)
    case.refresh_from_db()
    return case.grant


def director_holds_the_budget():
    case, director, _ = active_case(holder=False)
    unit = case.paying_business_unit
    unit.budget_holder = director
    unit.save()
    approval_decide(approval_request=director_request(case), decision="approve", actor=director)
    case.refresh_from_db()
    return case.grant


def row_of(response, grant):
    return next(row for row in response.context["page"].rows if row.id == grant.pk)


def test_the_register_says_who_agreed_to_the_cost_and_when(client, auditor):
    agreed = agreed_by_budget_holder()
    shortcut = director_holds_the_budget()
    today = f"{timezone.localdate():%-d %B %Y}"

    page = client.get(reverse("oversight:register"), {"tier": "active"})

    html = page.content.decode()
    assert "Cost agreed" in html
    assert row_of(page, agreed).cost_agreed == f"Agreed by Bea Budget on {today}"
    assert row_of(page, shortcut).cost_agreed == (
        f"Counted as the director’s approval (the director is the budget holder), {today}"
    )
    assert f"Agreed by Bea Budget on {today}" in html


def test_the_register_shows_each_grant_s_latest_review_outcome(client, auditor, settings):
    settings.SNS_ACCESS_REVIEW_DEFAULT = "end"
    directorate, director = department()
    kept = grant_held_in(directorate)
    ended = grant_held_in(directorate)
    unreviewed = grant_held_in(directorate)
    elsewhere, other_director = department()
    waiting = grant_held_in(elsewhere)
    other, _ = department()
    never = grant_held_in(other)  # not in the review
    first = reviews.access_review_start(actor=director, directorates=[directorate, elsewhere])
    reviews.review_item_decide(item=first.items.get(grant=kept), actor=director, decision="keep")
    reviews.review_item_decide(
        item=first.items.get(grant=ended), actor=director, decision="end", reason="Left the team"
    )
    reviews.review_item_decide(
        item=first.items.get(grant=waiting), actor=other_director, decision="keep"
    )
    # The review ends with one grant unreviewed (ended by default); a later review of
    # another directorate leaves its grant waiting.
    day = reviews.access_review_closes_on(first) + datetime.timedelta(days=1)
    with time_machine.travel(datetime.datetime.combine(day, datetime.time(12)), tick=False):
        reviews.access_review_escalate_due()
        reviews.access_review_close_due()
        second = reviews.access_review_start(actor=director, directorates=[elsewhere])
    page = client.get(reverse("oversight:register"), {"status": "all"})
    started = f"{timezone.localdate(first.started_at):%-d %B %Y}"
    director_name = director.display_name

    assert row_of(page, kept).review.startswith(f"Kept by {director_name} on ")
    assert row_of(page, kept).review.endswith(f"(access review of {started})")
    assert row_of(page, ended).review.startswith(f"Ended by {director_name} on ")
    assert row_of(page, unreviewed).review == (
        f"Not reviewed, ended by default on {day:%-d %B %Y} (access review of {started})"
    )
    assert row_of(page, waiting).review == (
        f"Waiting for review, due {second.due_on:%-d %B %Y} "
        f"(access review of {timezone.localdate(second.started_at):%-d %B %Y})"
    )
    assert row_of(page, never).review == "Not in an access review"
    assert "Not reviewed, ended by default" in page.content.decode()


def test_the_csv_has_the_cost_agreement_and_the_review_outcome(client, auditor):
    agreed = agreed_by_budget_holder()
    directorate, director = department()
    kept = grant_held_in(directorate)
    review = reviews.access_review_start(actor=director, directorates=[directorate])
    reviews.review_item_decide(item=review.items.get(), actor=director, decision="keep")
    today = timezone.localdate().isoformat()

    rows = csv_rows(client.get(reverse("oversight:register-csv")))

    assert rows[0][-6:] == [
        "Cost agreed by",
        "Cost agreed on",
        "Latest access review",
        "Review outcome",
        "Reviewed by",
        "Reviewed on",
    ]
    by_reference = {row[0]: row for row in rows[1:]}
    assert by_reference[agreed.business_case.reference][-6:] == [
        "Bea Budget",
        today,
        "",
        "Not in an access review",
        "",
        "",
    ]
    assert by_reference[kept.business_case.reference][-6:] == [
        "No cost (passive monitoring)",
        "",
        timezone.localdate(review.started_at).isoformat(),
        "Kept",
        director.display_name,
        today,
    ]


def test_the_register_s_query_count_stays_the_same_with_reviews_and_budget_holders(
    client, auditor, django_assert_max_num_queries
):
    def page_queries():
        cache.clear()
        with django_assert_max_num_queries(100) as captured:
            response = client.get(reverse("oversight:register"))
        assert response.status_code == 200
        return response, len(captured)

    agreed_by_budget_holder()
    _, few = page_queries()

    for _ in range(12):
        agreed_by_budget_holder()
    # The whole department: each grant goes to its own director, so each row names a
    # different reviewer, and the names still come from one query.
    review = reviews.access_review_start(actor=UserFactory(role=Role.ADMIN))
    for item in review.items.select_related("reviewer"):
        reviews.review_item_decide(item=item, actor=item.reviewer, decision="keep")
    response, many = page_queries()

    assert len(response.context["page"].rows) == 13
    assert many == few
    assert all(row.review.startswith("Kept by") for row in response.context["page"].rows)
    assert all(row.cost_agreed.startswith("Agreed by") for row in response.context["page"].rows)


def test_the_case_file_says_who_agreed_to_the_cost_and_the_latest_review(client, auditor):
    grant = agreed_by_budget_holder()
    directorate = grant.holder.profile.business_unit.directorate
    director = directorate.director
    review = reviews.access_review_start(actor=director, directorates=[directorate])
    reviews.review_item_decide(
        item=review.items.get(grant=grant), actor=director, decision="end", reason="Moved on"
    )

    html = client.get(reverse("oversight:case-detail", args=[grant.business_case_id])).content
    text = html.decode()

    assert f"Agreed by Bea Budget on {timezone.localdate():%-d %B %Y}" in text
    assert f"Ended by {director.display_name} on " in text
    assert reverse("reviews:progress", args=[review.pk]) in text


def report_table(html: str, table_id: str) -> str:
    start = html.index(f'id="{table_id}"')
    return html[start : html.index("</table>", start)]


def cells(table: str) -> list[list[str]]:
    """Each body row's header and cells as text."""
    body = table[table.index("<tbody") :]
    return [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)
        ]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


def test_the_reports_page_counts_each_review_s_outcomes(client, auditor, settings):
    settings.SNS_ACCESS_REVIEW_DEFAULT = "end"
    directorate, director = department()
    kept, ended, unreviewed = (grant_held_in(directorate) for _ in range(3))
    review = reviews.access_review_start(actor=director, directorates=[directorate])
    reviews.review_item_decide(item=review.items.get(grant=kept), actor=director, decision="keep")
    reviews.review_item_decide(
        item=review.items.get(grant=ended), actor=director, decision="end", reason="Moved"
    )
    day = reviews.access_review_closes_on(review) + datetime.timedelta(days=1)
    with time_machine.travel(datetime.datetime.combine(day, datetime.time(12)), tick=False):
        reviews.access_review_escalate_due()
        reviews.access_review_close_due()
    later = reviews.access_review_start(actor=director, directorates=[directorate])

    page = client.get(reverse("oversight:reports"))
    rows = cells(report_table(page.content.decode(), "access-reviews"))

    # Newest first: the open review has the one grant still held (kept) outstanding.
    assert rows[0][1:] == ["1", "0", "0", "0", "0", "0", "0", "1"]
    assert rows[0][0].endswith(f"due {later.due_on:%-d %B %Y}")
    # grants, reviewed, kept, ended, ended by default, kept by default, meanwhile, outstanding
    assert rows[1][1:] == ["3", "2", "1", "1", "1", "0", "0", "0"]
    assert reverse("reviews:progress", args=[review.pk]) in page.content.decode()
    export = client.get(reverse("oversight:report-csv"), {"table": "access-reviews"})
    lines = csv_rows(export)
    assert lines[0][3:] == [
        "Grants",
        "Reviewed",
        "Kept",
        "Ended",
        "Ended by default",
        "Kept by default",
        "Ended meanwhile",
        "Outstanding",
    ]
    assert lines[2][2:] == ["Ended", "3", "2", "1", "1", "1", "0", "0", "0"]


def test_the_reports_page_counts_the_budget_holders_decisions(client, auditor):
    agreed_by_budget_holder()
    director_holds_the_budget()
    nobody, director, _ = active_case(holder=False)
    BusinessCase.objects.filter(pk=nobody.pk).update(budget_holder=None)
    approval_decide(approval_request=director_request(nobody), decision="approve", actor=director)
    refused, director, holder = active_case()
    approval_decide(approval_request=director_request(refused), decision="approve", actor=director)
    approval_decide(
        approval_request=refused.approval_requests.get(approver=holder),
        decision="reject",
        reason="No budget",
        actor=holder,
    )
    lapsing, director, holder = active_case()
    approval_decide(approval_request=director_request(lapsing), decision="approve", actor=director)
    waiting, director, holder = active_case()
    approval_decide(approval_request=director_request(waiting), decision="approve", actor=director)
    BusinessCase.objects.filter(pk=lapsing.pk).update(
        submitted_at=timezone.now() - datetime.timedelta(days=60)
    )
    case_lapse_due()

    page = client.get(reverse("oversight:reports"))
    rows = dict(
        (label, count)
        for label, count in cells(report_table(page.content.decode(), "budget-holders"))
    )

    assert rows == {
        "Agreed by the budget holder": "1",
        "Refused by the budget holder": "1",
        "Lapsed waiting for the budget holder": "1",
        "Director’s approval counted: the director is the budget holder": "1",
        "Director’s approval counted: the requester is the budget holder": "0",
        "Director’s approval counted: no budget holder named": "1",
        "Waiting for the budget holder now": "1",
    }
    lines = csv_rows(client.get(reverse("oversight:report-csv"), {"table": "budget-holders"}))
    assert lines[1] == ["Agreed by the budget holder", "1"]
