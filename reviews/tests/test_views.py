import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from access_requests.models import AccessGrant, AccessTier, SafeUseReminder
from people.models import Role
from people.tests.factories import UserFactory
from reviews import services
from reviews.models import AccessReview

from .factories import department, grant_held_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def started():
    directorate, director = department()
    passive = grant_held_in(directorate)
    active = grant_held_in(directorate, active=True)
    SafeUseReminder.objects.create(grant=active, period=1, confirm_by=active.start_date)
    review = services.access_review_start(actor=director)
    return review, director, passive, active


def test_the_review_page_shows_need_sites_tier_cost_and_safe_use(sign_in, started, settings):
    review, director, passive, active = started
    page = sign_in(director).get(reverse("reviews:review", args=[review.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    assert "Monitor public discussion of visa policy" in text
    for site in active.sites.all():
        assert site.name in text
    assert AccessTier.ACTIVE.label in text and AccessTier.PASSIVE.label in text
    assert f"£{settings.SNS_STANDALONE_PC_YEARLY_COST:,} a year" in text
    assert "Not confirmed (was due" in text or "Asked, due" in text
    assert "Keep all that are not marked" in text


def test_end_without_a_reason_shows_the_error_summary_and_saves_nothing(sign_in, started):
    review, director, passive, active = started
    item = review.items.get(grant=passive)
    page = sign_in(director).post(
        reverse("reviews:review", args=[review.pk]), {f"decision_{item.pk}": "end"}
    )
    text = page.content.decode()
    assert page.status_code == 200
    assert "govuk-error-summary" in text
    assert f'href="#id_reason_{item.pk}"' in text
    item.refresh_from_db()
    assert item.decision == ""


def test_keep_and_end_from_the_page(sign_in, started):
    review, director, passive, active = started
    keep = review.items.get(grant=passive)
    end = review.items.get(grant=active)
    client = sign_in(director)
    page = client.post(
        reverse("reviews:review", args=[review.pk]),
        {
            f"decision_{keep.pk}": "keep",
            f"decision_{end.pk}": "end",
            f"reason_{end.pk}": "No longer in the role",
        },
    )
    assert page.status_code == 302
    active.refresh_from_db()
    passive.refresh_from_db()
    assert active.status == AccessGrant.Status.REVOKED
    assert passive.status == AccessGrant.Status.ACTIVE
    assert "Nothing left to review" in client.get(page.url).content.decode()


def test_a_decision_that_lost_the_race_gets_a_clear_page(sign_in, started):
    review, director, passive, active = started
    item = review.items.get(grant=passive)
    services.review_item_decide(item=item, actor=director, decision="keep")
    page = sign_in(director).post(
        reverse("reviews:review", args=[review.pk]),
        {f"decision_{item.pk}": "end", f"reason_{item.pk}": "Not needed"},
    )
    assert page.status_code == 409
    assert "already kept by" in page.content.decode()
    passive.refresh_from_db()
    assert passive.status == AccessGrant.Status.ACTIVE


def test_a_grant_that_ended_meanwhile_says_so(sign_in, started):
    review, director, passive, active = started
    item = review.items.get(grant=passive)
    AccessGrant.objects.filter(pk=passive.pk).update(status=AccessGrant.Status.SURRENDERED)
    client = sign_in(director)
    page = client.post(reverse("reviews:review", args=[review.pk]), {f"decision_{item.pk}": "keep"})
    assert page.status_code == 409
    assert "ended after the review started" in page.content.decode()
    text = client.get(reverse("reviews:review", args=[review.pk])).content.decode()
    assert "Access that ended after the review started" in text


def test_keep_all_that_are_not_marked_needs_a_confirmation(sign_in, started):
    review, director, passive, active = started
    client = sign_in(director)
    url = reverse("reviews:keep-unmarked", args=[review.pk])
    assert "2 grants have no decision yet" in client.get(url).content.decode()
    refused = client.post(url, {})
    assert "govuk-error-summary" in refused.content.decode()
    assert not review.items.filter(decision="keep").exists()
    assert client.post(url, {"confirm": "on"}).status_code == 302
    assert review.items.filter(decision="keep").count() == 2


def test_who_may_see_the_review_page(sign_in, started, client):
    review, director, passive, active = started
    url = reverse("reviews:review", args=[review.pk])
    assert client.get(url).status_code == 302  # to sign in
    assert sign_in(passive.holder).get(url).status_code == 403
    assert sign_in(UserFactory(role=Role.AUDITOR)).get(url).status_code == 403
    assert sign_in(UserFactory(role=Role.ADMIN)).get(url).status_code == 200


def test_an_admin_sees_every_reviewer_s_grants_and_a_reviewer_only_their_own(sign_in):
    first, first_director = department()
    second, second_director = department()
    mine = grant_held_in(first)
    theirs = grant_held_in(second, active=True)
    decided = grant_held_in(second)
    review = services.access_review_start(actor=UserFactory(role=Role.ADMIN))
    services.review_item_decide(
        item=review.items.get(grant=decided), actor=second_director, decision="keep"
    )
    url = reverse("reviews:review", args=[review.pk])

    admin_page = sign_in(UserFactory(role=Role.ADMIN)).get(url)
    cards = {card["line"].reference for card in admin_page.context["cards"]}
    assert cards == {mine.business_case.reference, theirs.business_case.reference}
    text = admin_page.content.decode()
    assert "2 grants are waiting for your review" in text
    assert decided.business_case.reference in text  # already reviewed, by the other director

    director_page = sign_in(first_director).get(url)
    assert [card["line"].reference for card in director_page.context["cards"]] == [
        mine.business_case.reference
    ]
    text = director_page.content.decode()
    assert "1 grant is waiting for your review" in text
    assert theirs.business_case.reference not in text
    assert decided.business_case.reference not in text


def test_start_page_question_and_errors(sign_in, started):
    review, director, passive, active = started
    admin = UserFactory(role=Role.ADMIN)
    client = sign_in(admin)
    url = reverse("reviews:start")
    assert client.get(url).status_code == 200
    bad = client.post(url, {"due_on_0": "1", "due_on_1": "1", "due_on_2": "2000"})
    assert "govuk-error-summary" in bad.content.decode()
    assert "must be in the future" in bad.content.decode()
    assert AccessReview.objects.count() == 1
    assert sign_in(director).get(url).status_code == 403


def test_progress_by_directorate_and_csv(sign_in, started):
    review, director, passive, active = started
    services.review_item_decide(
        item=review.items.get(grant=active), actor=director, decision="end", reason="=cmd()"
    )
    auditor = UserFactory(role=Role.AUDITOR)
    client = sign_in(auditor)
    page = client.get(reverse("reviews:progress", args=[review.pk]))
    assert page.status_code == 200
    rows = page.context["rows"]
    assert len(rows) == 1
    row = rows[0]
    assert (row["total"], row["reviewed"], row["ended"], row["outstanding"]) == (2, 1, 1, 1)
    assert client.get(reverse("reviews:list")).status_code == 200
    csv = b"".join(client.get(reverse("reviews:export", args=[review.pk])).streaming_content)
    text = csv.decode()
    assert "Outcome" in text.splitlines()[0]
    assert "'=cmd()" in text and "Not reviewed yet" in text
    assert sign_in(director).get(reverse("reviews:progress", args=[review.pk])).status_code == 403


def test_review_page_query_count_is_constant(sign_in, started, django_assert_max_num_queries):
    review, director, passive, active = started
    client = sign_in(director)
    url = reverse("reviews:review", args=[review.pk])
    client.get(url)
    with django_assert_max_num_queries(9) as few:
        client.get(url)
    directorate = passive.holder.profile.business_unit.directorate
    for _ in range(6):
        grant_held_in(directorate, active=True)
    bigger = services.access_review_start(actor=director)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(reverse("reviews:review", args=[bigger.pk]))
    assert len(page.context["cards"]) == 8


def test_progress_and_list_query_counts_are_constant(
    sign_in, started, django_assert_max_num_queries
):
    review, director, passive, active = started
    client = sign_in(UserFactory(role=Role.ADMIN))
    urls = [reverse("reviews:progress", args=[review.pk]), reverse("reviews:list")]
    counts = []
    for url in urls:
        client.get(url)
        with django_assert_max_num_queries(20) as few:
            client.get(url)
        counts.append(len(few.captured_queries))
    for _ in range(3):
        other, other_director = department()
        grant_held_in(other)
        services.access_review_start(actor=other_director)
    for url, count in zip(urls, counts, strict=True):
        with django_assert_max_num_queries(count):
            client.get(url)


def test_the_reviewer_s_home_page_links_to_their_outstanding_review(sign_in, settings):
    directorate, director = department()
    first = grant_held_in(directorate)
    grant_held_in(directorate, holder=first.holder, active=True)  # the same person twice
    grant_held_in(directorate)
    review = services.access_review_start(actor=director)
    client = sign_in(director)
    link = f'href="{reverse("reviews:review", args=[review.pk])}"'
    due = f"{review.due_on:%-d %B %Y}"

    text = client.get(reverse("home")).content.decode()
    assert link in text
    assert f"Review access for 2 people by {due}" in text

    for item in review.items.exclude(grant__holder=first.holder):
        services.review_item_decide(item=item, actor=director, decision="keep")
    assert f"Review access for 1 person by {due}" in client.get(reverse("home")).content.decode()

    services.review_keep_unmarked(review=review, actor=director)
    assert link not in client.get(reverse("home")).content.decode()
    # Someone with nothing to review is not shown the section.
    other = UserFactory()
    assert "Review access for" not in sign_in(other).get(reverse("home")).content.decode()


def test_a_review_whose_outstanding_grants_have_all_ended_is_not_on_the_home_page(sign_in):
    directorate, director = department()
    ending = grant_held_in(directorate)
    review = services.access_review_start(actor=director)
    client = sign_in(director)
    assert "Review access for 1 person" in client.get(reverse("home")).content.decode()

    AccessGrant.objects.filter(pk=ending.pk).update(status=AccessGrant.Status.EXPIRED)
    text = client.get(reverse("home")).content.decode()
    assert reverse("reviews:review", args=[review.pk]) not in text


def test_a_reviewer_of_many_grants_decides_them_a_batch_at_a_time(
    sign_in, django_assert_max_num_queries
):
    from reviews.selectors import REVIEW_BATCH, REVIEW_LISTED

    directorate, director = department()
    for _ in range(REVIEW_BATCH + 3):
        grant_held_in(directorate)
    review = services.access_review_start(actor=director)
    client = sign_in(director)
    url = reverse("reviews:review", args=[review.pk])

    page = client.get(url)
    first = [card["line"].item_id for card in page.context["cards"]]
    assert len(first) == REVIEW_BATCH
    text = page.content.decode()
    assert f"{REVIEW_BATCH + 3} grants are waiting for your review" in text
    assert f"These are the first {REVIEW_BATCH}" in text

    saved = client.post(url, {f"decision_{pk}": "keep" for pk in first}, follow=True)
    assert f"{REVIEW_BATCH} decisions saved" in saved.content.decode()
    rest = [card["line"].item_id for card in saved.context["cards"]]
    assert len(rest) == 3 and not set(rest) & set(first)
    assert "3 grants are waiting for your review" in saved.content.decode()
    assert "These are the first" not in saved.content.decode()
    assert len(saved.context["page"].decided) == min(REVIEW_BATCH, REVIEW_LISTED)
    assert "Already reviewed" in saved.content.decode()


def test_the_page_lists_what_was_decided_and_what_ended_meanwhile(sign_in, started):
    review, director, passive, active = started
    directorate = passive.holder.profile.business_unit.directorate
    surrendered = grant_held_in(directorate)
    later = services.access_review_start(actor=director)
    services.review_item_decide(
        item=later.items.get(grant=active),
        actor=director,
        decision="end",
        reason="Moved to another team",
    )
    AccessGrant.objects.filter(pk=surrendered.pk).update(status=AccessGrant.Status.SURRENDERED)
    surrendered = AccessGrant.objects.select_related("holder__profile").get(pk=surrendered.pk)

    text = sign_in(director).get(reverse("reviews:review", args=[later.pk])).content.decode()
    today = timezone.localdate()
    # The decided row: the holder, the case, the outcome with its reason, who and when.
    assert f"<bdi>{active.holder.display_name}</bdi></td>" in text
    assert f"{active.business_case.reference}</td>" in text
    assert "Ended: Moved to another team</td>" in text
    assert f"<bdi>{director.display_name}</bdi> on {today:%-d %B %Y}</td>" in text
    # The grant that ended meanwhile, and the one still to decide, on its card.
    assert (
        f"<li><bdi>{surrendered.holder.display_name}</bdi>, "
        f"{surrendered.business_case.reference}: given up</li>"
    ) in text
    assert f"Keep or end {passive.holder.display_name}&#x27;s access" in text
    assert "1 grant is waiting for your review" in text


def test_a_director_whose_grants_escalation_passed_on_is_told_so(sign_in, started):
    review, director, passive, active = started
    client = sign_in(director)
    url = reverse("reviews:review", args=[review.pk])
    assert "went to the fallback reviewer" not in client.get(url).content.decode()

    services.access_review_escalate_due(today=review.due_on + datetime.timedelta(days=1))

    page = client.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert "After the due date, 2 grants you had not reviewed went to the fallback reviewer" in text
    assert "Nothing left to review" in text
