"""One load's shared state: its random streams, its clock, and the facts each stage leaves
for the next (who the people are, each case's status, times and references)."""

import datetime
import random
import time

from tqdm import tqdm

from access_requests.models import AccessGrant, BusinessCase
from bench.data.counts import bench_counts

UTC = datetime.UTC
DAY = 86400

# Audit event kinds (packed into the sort key).
(
    EV_CASE_CREATED,
    EV_CASE_SUBMITTED,
    EV_APPROVAL_REQUESTED,
    EV_APPROVAL_OPENED,
    EV_APPROVAL_REMINDED,
    EV_APPROVAL_DECIDED,
    EV_CASE_WITHDRAWN,
    EV_CASE_LAPSED,
    EV_GRANT_CREATED,
    EV_GRANT_PROVISIONED,
    EV_GRANT_RETURNED,
    EV_GRANT_EXPIRED,
    EV_GRANT_REVOKED,
    EV_GRANT_SURRENDERED,
    EV_SIGNED_IN,
) = range(15)

S_APPROVED, S_REJECTED, S_WITHDRAWN, S_LAPSED, S_SUBMITTED, S_DRAFT = range(6)
STATUS_VALUE = {
    S_APPROVED: BusinessCase.Status.APPROVED.value,
    S_REJECTED: BusinessCase.Status.REJECTED.value,
    S_WITHDRAWN: BusinessCase.Status.WITHDRAWN.value,
    S_LAPSED: BusinessCase.Status.LAPSED.value,
    S_SUBMITTED: BusinessCase.Status.SUBMITTED.value,
    S_DRAFT: BusinessCase.Status.DRAFT.value,
}
GRANT_STATUS_LABEL = dict(AccessGrant.Status.choices)


def ts_to_dt(seconds: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, tz=UTC)


def ts_to_date(seconds: int) -> datetime.date:
    return datetime.datetime.fromtimestamp(seconds, tz=UTC).date()


def date_to_ts(day: datetime.date, hour: int = 0) -> int:
    return int(datetime.datetime(day.year, day.month, day.day, hour, tzinfo=UTC).timestamp())


class BenchLoad:
    """What the stages share, in the order they run: `people_load` sets the people
    (`user_ids`, `user_email`, `user_name`, `user_unit`, `dir_ids`, `unit_ids`, `org_ids`,
    `director_of_dir`, `admins`, `ict`); `cases_plan` each case's status, requester and
    creation time; `cases_load` what the audit trail needs of each case (`case_pk`,
    `case_reference`, `case_approver`, `case_grant_pk`, `case_times`) and the packed
    `events`; `audit_trail_load` the `audit_count`."""

    def __init__(self, *, scale: float, seed: int, progress: bool):
        self.scale = scale
        self.counts = bench_counts(scale)
        self.random = random.Random(seed)
        self.progress = progress
        self.now = int(time.time())
        self.today = ts_to_date(self.now)
        self.start = self.now - 5 * 365 * DAY
        # Reminders draw from their own stream, so the other rows a seed gives do not
        # depend on how many reminders there are.
        self.reminder_random = random.Random(seed + 1)
        self.reminder_count = 0

    def bar(self, total: int, desc: str):
        return tqdm(total=total, desc=desc, unit="row", disable=not self.progress, leave=True)
