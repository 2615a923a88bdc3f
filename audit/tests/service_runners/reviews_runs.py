"""Runners for the access-review services."""

import datetime

import time_machine

from reviews import services as review_services
from reviews.tests.factories import department, grant_held_in

from .common import CLIENT, Expected, _status

# --- reviews.services -------------------------------------------------------------------------

REVIEWS = "reviews.services"


def _review_started():
    directorate, director = department()
    grant = grant_held_in(directorate)
    review = review_services.access_review_start(actor=director)
    return review, director, grant


def _on(day: datetime.date):
    return time_machine.travel(datetime.datetime.combine(day, datetime.time(12)), tick=False)


def run_access_review_start(run):
    directorate, director = department()
    grant_held_in(directorate)
    run.service_starts()
    review = review_services.access_review_start(actor=director, client=CLIENT)
    return Expected(
        "access_review.started",
        review,
        director.email,
        CLIENT.address,
        {"grants_to_review": 1, "reviewers": 1},
    )


def run_access_review_start_scheduled(run):
    run.settings.SNS_ACCESS_REVIEW_MONTHS = 6
    directorate, _ = department()
    grant_held_in(directorate)
    run.service_starts()
    review = review_services.access_review_start_scheduled()
    return Expected("access_review.started", review, "system:access_review_schedule")


def run_review_item_decide(run):
    review, director, grant = _review_started()
    run.service_starts()
    review_services.review_item_decide(
        item=review.items.get(), actor=director, decision="end", reason="Moved on", client=CLIENT
    )
    return [
        Expected(
            "access_review.decided",
            grant,
            director.email,
            CLIENT.address,
            {"review_decision": ["", "end"], "reason": "Moved on"},
        ),
        Expected("grant.revoked", grant, director.email, CLIENT.address),
    ]


def run_review_keep_unmarked(run):
    review, director, grant = _review_started()
    run.service_starts()
    review_services.review_keep_unmarked(review=review, actor=director, client=CLIENT)
    return Expected(
        "access_review.decided",
        grant,
        director.email,
        CLIENT.address,
        {"review_decision": ["", "keep"], "kept_with_all_unmarked": True},
    )


def run_access_review_remind_due(run):
    review, _, _ = _review_started()
    run.service_starts()
    with _on(review.due_on):
        review_services.access_review_remind_due()
    return Expected("access_review.reminded", review, "system:access_review_remind_due")


def run_access_review_escalate_due(run):
    review, _, _ = _review_started()
    run.service_starts()
    with _on(review.due_on + datetime.timedelta(days=1)):
        review_services.access_review_escalate_due()
    return Expected(
        "access_review.escalated",
        review,
        "system:access_review_escalate_due",
        changes={"grants_escalated": 1},
    )


def run_access_review_close_due(run):
    review, _, grant = _review_started()
    day = review_services.access_review_closes_on(review) + datetime.timedelta(days=1)
    with _on(day):
        review_services.access_review_escalate_due()
        run.service_starts()
        review_services.access_review_close_due()
    actor = "system:access_review_close_due"
    return [
        Expected("access_review.closed", review, actor, changes={"default_applied": "end"}),
        Expected("access_review.decided", grant, actor, changes={"automatic": True}),
        Expected("grant.revoked", grant, actor, changes=_status("active", "revoked")),
    ]
