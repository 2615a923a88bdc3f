"""An approved case's grant, its lifecycle after approval, and the safe-use reminders an
active-tier grant was sent."""

import datetime

from django.conf import settings

from access_requests.models import AccessTier
from bench.data.pg_copy import CopyTable
from bench.data.state import (
    DAY,
    EV_GRANT_EXPIRED,
    EV_GRANT_PROVISIONED,
    EV_GRANT_RETURNED,
    EV_GRANT_REVOKED,
    EV_GRANT_SURRENDERED,
    BenchLoad,
    date_to_ts,
    ts_to_date,
    ts_to_dt,
)


def grant_add(
    load: BenchLoad,
    *,
    grants: CopyTable,
    gpk: int,
    i: int,
    decided: int,
    start_date: datetime.date,
    end_date: datetime.date,
    tier: str,
    unit_pk: int | None,
) -> list[tuple[int, int]]:
    """One grant row (`gpk`) for case `i`, decided at `decided`; returns its lifecycle
    events [(kind, when)]."""
    rnd = load.random
    requester = load.case_requester[i]
    now = load.now
    end_ts = date_to_ts(end_date)
    provisioned = min(now - 60, decided + rnd.randrange(3600, 3 * DAY))
    events = []
    provisioned_at = provisioned_by = expired_at = revoked_at = revoked_by = None
    surrendered_at = None
    returned_reason = revocation_reason = ""
    roll = rnd.random()
    ict = load.ict[gpk % len(load.ict)]
    if now - decided < 5 * DAY and roll < 0.6:
        status = "awaiting"
    elif roll < 0.02:
        status = "returned"
        returned_reason = "The standalone PC could not be found."
        events.append((EV_GRANT_RETURNED, provisioned))
    else:
        provisioned_at, provisioned_by = provisioned, ict
        events.append((EV_GRANT_PROVISIONED, provisioned))
        last = min(now - 60, end_ts)
        if roll < 0.08 and last > provisioned + 60:
            status = "revoked"
            revoked_at = rnd.randrange(provisioned + 60, last)
            revoked_by = load.admins[gpk % len(load.admins)]
            revocation_reason = "Misuse of the account reported by the press office."
            events.append((EV_GRANT_REVOKED, revoked_at))
        elif roll < 0.13 and last > provisioned + 60:
            status = "surrendered"
            surrendered_at = rnd.randrange(provisioned + 60, last)
            events.append((EV_GRANT_SURRENDERED, surrendered_at))
        elif end_date < load.today:
            status = "expired"
            expired_at = min(now - 60, end_ts + DAY + 2 * 3600 + rnd.randrange(600))
            events.append((EV_GRANT_EXPIRED, expired_at))
        else:
            status = "active"
    if tier == AccessTier.ACTIVE and provisioned_at:
        ended = revoked_at or surrendered_at or (end_ts if status == "expired" else None)
        safe_use_reminders_add(load, gpk, provisioned_at, min(ended or now, now))
    last_change = max([decided, *(when for _, when in events)])
    grants.add(
        [
            gpk,
            ts_to_dt(decided + 1),
            ts_to_dt(last_change),
            load.case_pk[i],
            load.user_ids[requester],
            tier,
            start_date,
            end_date,
            status,
            load.user_ids[load.case_approver[i]],
            None,
            ts_to_dt(decided),
            unit_pk,
            f"PC-{load.case_pk[i]:07d}" if unit_pk else "",
            None,
            ts_to_dt(provisioned_at) if provisioned_at else None,
            load.user_ids[provisioned_by] if provisioned_by is not None else None,
            returned_reason,
            ts_to_dt(expired_at) if expired_at else None,
            ts_to_dt(revoked_at) if revoked_at else None,
            load.user_ids[revoked_by] if revoked_by is not None else None,
            revocation_reason,
            ts_to_dt(surrendered_at) if surrendered_at else None,
            None,
        ]
    )
    return events


def safe_use_reminders_add(load: BenchLoad, gpk: int, provisioned: int, until: int) -> None:
    """The reminders an active-tier grant was sent, one a period from provisioning until
    `until`: nine in ten confirmed within the 14 days, the rest never (those still on
    an active grant are what a director's home page lists)."""
    rnd = load.reminder_random
    every = settings.SNS_SAFE_USE_REMINDER_DAYS * DAY
    allowed = settings.SNS_SAFE_USE_CONFIRM_DAYS * DAY
    period = 1
    while provisioned + period * every < until:
        sent = provisioned + period * every
        confirmed = sent + rnd.randrange(3600, allowed) if rnd.random() < 0.9 else None
        load.reminders.add(
            [
                load.next_reminder_id,
                gpk,
                period,
                ts_to_dt(sent),
                ts_to_date(sent + allowed),
                ts_to_dt(confirmed) if confirmed and confirmed < load.now else None,
            ]
        )
        load.next_reminder_id += 1
        load.reminder_count += 1
        period += 1
