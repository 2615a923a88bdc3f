"""The business cases, in order of creation: their site identities, approval requests
and, for approved cases, grants; and the audit events each case's life gives."""

import datetime
import hashlib

from django.core.management.base import CommandError

from access_requests.models import (
    AccessGrant,
    AccessTier,
    BusinessCase,
    ReferenceCounter,
    SafeUseReminder,
    Site,
    SiteIdentity,
)
from approvals.models import ApprovalRequest
from bench.data.grants import grant_add
from bench.data.pg_copy import CopyTable, next_id
from bench.data.state import (
    DAY,
    EV_APPROVAL_DECIDED,
    EV_APPROVAL_OPENED,
    EV_APPROVAL_REMINDED,
    EV_APPROVAL_REQUESTED,
    EV_CASE_CREATED,
    EV_CASE_LAPSED,
    EV_CASE_SUBMITTED,
    EV_CASE_WITHDRAWN,
    EV_GRANT_CREATED,
    S_APPROVED,
    S_DRAFT,
    S_LAPSED,
    S_REJECTED,
    S_SUBMITTED,
    S_WITHDRAWN,
    STATUS_VALUE,
    BenchLoad,
    ts_to_date,
    ts_to_dt,
)
from bench.data.vocabulary import AUDIENCES, INTEGRATIONS, PURPOSES


def cases_plan(load: BenchLoad) -> None:
    """Decide every case's status, people and times, in order of creation."""
    c = load.counts
    rnd = load.random
    statuses = (
        [S_APPROVED] * c.grants
        + [S_REJECTED] * c.rejected
        + [S_WITHDRAWN] * c.withdrawn
        + [S_LAPSED] * c.lapsed
    )
    rnd.shuffle(statuses)
    # Closed cases spread over five years (ending 45 days ago); open ones are recent.
    old_end = load.now - 45 * DAY
    created = sorted(rnd.randrange(load.start, old_end) for _ in statuses)
    recent = sorted(
        [
            (rnd.randrange(load.now - 25 * DAY, load.now - DAY), S_SUBMITTED)
            for _ in range(c.submitted)
        ]
        + [(rnd.randrange(load.now - 60 * DAY, load.now - 600), S_DRAFT) for _ in range(c.drafts)]
    )
    load.case_created = created + [t for t, _ in recent]
    load.case_status = statuses + [s for _, s in recent]
    n = len(load.case_status)
    # Ordinary requesters: everyone except the admin, auditor and ICT accounts;
    # bench.staff (user 3) has a case in every n // 60.
    first_ordinary = 3
    staff_every = max(2, n // 60)
    load.case_requester = [
        3 if i % staff_every == 0 else rnd.randrange(first_ordinary, c.staff) for i in range(n)
    ]


def cases_load(load: BenchLoad) -> None:
    rnd = load.random
    case_id = next_id(BusinessCase)
    ar_id = next_id(ApprovalRequest)
    grant_id = next_id(AccessGrant)
    identity_id = next_id(SiteIdentity)
    grant_site_id = next_id(AccessGrant.sites.through)
    site_ids = list(Site.objects.order_by("id").values_list("id", flat=True))
    if not site_ids:
        raise CommandError("The site catalogue is empty: migrate first")

    case_cols = "id created_at updated_at reference requester_id status tier paying_business_unit_id budget_holder_name pc_choice pc_asset_tag purpose audience integration start_date end_date declared_read_guidance declared_civil_service_code declared_no_protected_information declared_media_to_press_office declared_separate_identities declarations_made_at submitted_at decided_at decision_reason withdrawn_at withdrawal_reason lapsed_at routing_note renewal_of_id".split()
    cases = CopyTable(BusinessCase, case_cols)
    identities = CopyTable(
        SiteIdentity,
        "id created_at updated_at business_case_id site_id display_name uses_pseudonym pseudonym_reason identifies_as_official not_official_reason".split(),
    )
    approvals = CopyTable(
        ApprovalRequest,
        "id created_at updated_at business_case_id approver_id routed_because delegation_id on_behalf_of_id status token_hash token_expires_at decide_by first_opened_at reminders_sent next_reminder_at decision decision_reason decided_at approved_end_date".split(),
    )
    grants = CopyTable(
        AccessGrant,
        "id created_at updated_at business_case_id holder_id tier start_date end_date status approved_by_id approved_on_behalf_of_id approved_at paying_business_unit_id pc_asset_tag renewed_from_id provisioned_at provisioned_by_id returned_reason expired_at revoked_at revoked_by_id revocation_reason surrendered_at lapse_chosen_at".split(),
    )
    grant_sites = CopyTable(AccessGrant.sites.through, ["id", "accessgrant_id", "site_id"])
    load.reminders = CopyTable(
        SafeUseReminder, "id grant_id period sent_at confirm_by confirmed_at".split()
    )
    load.next_reminder_id = next_id(SafeUseReminder)

    # Facts the audit trail needs, per case (index i).
    n = len(load.case_status)
    load.case_pk = [case_id + i for i in range(n)]
    load.case_reference: list[str | None] = [None] * n
    load.case_approver = [0] * n
    load.case_grant_pk: list[int | None] = [None] * n
    load.case_times: list[tuple] = [()] * n
    load.events: list[int] = []
    ev = load.events.append

    reference_numbers: dict[int, int] = {}
    user_ids = load.user_ids
    next_grant = grant_id
    next_ar = ar_id
    with load.bar(n, "cases, approvals, grants") as bar:
        for i in range(n):
            status = load.case_status[i]
            requester = load.case_requester[i]
            created = load.case_created[i]
            pk = case_id + i
            tier = AccessTier.ACTIVE.value if rnd.random() < 0.2 else AccessTier.PASSIVE.value
            active = tier == AccessTier.ACTIVE.value
            unit_pk = load.unit_ids[load.user_unit[requester]] if active else None
            months = rnd.randint(1, 6 if active else 12)
            sites = rnd.sample(site_ids, rnd.choice((1, 1, 1, 2, 2, 3)))

            # Who decides: the requester's director, or the fallback (an admin).
            directorate = load.user_unit[requester] // 5
            director = load.director_of_dir[directorate]
            if director == requester:
                approver, because = 0, ApprovalRequest.Reason.FALLBACK.value
                routing_note = "You are the director of your directorate."
            else:
                approver, because = director, ApprovalRequest.Reason.DIRECTOR.value
                routing_note = ""
            load.case_approver[i] = approver

            submitted = None if status == S_DRAFT else created + rnd.randrange(600, 3 * DAY)
            reference = None
            if submitted is not None:
                year = ts_to_date(submitted).year
                reference_numbers[year] = reference_numbers.get(year, 0) + 1
                reference = f"SNS-{year}-{reference_numbers[year]:05d}"
            load.case_reference[i] = reference
            opened = decided = withdrawn = lapsed = None
            if status in (S_APPROVED, S_REJECTED):
                opened = submitted + rnd.randrange(600, 4 * DAY)
                decided = opened + rnd.randrange(60, 3 * DAY)
            elif status == S_WITHDRAWN:
                withdrawn = submitted + rnd.randrange(3600, 10 * DAY)
            elif status == S_LAPSED:
                lapsed = submitted + 30 * DAY + rnd.randrange(3600)
            elif status == S_SUBMITTED and rnd.random() < 0.5:
                opened = min(load.now - 60, submitted + rnd.randrange(600, 2 * DAY))

            anchor = decided or submitted or created
            start_date = ts_to_date(anchor) + datetime.timedelta(days=rnd.randint(1, 14))
            end_date = start_date + datetime.timedelta(days=30 * months)
            last_change = decided or withdrawn or lapsed or submitted or created
            reason = (
                "The business need is not established: say who you will engage with."
                if status == S_REJECTED
                else ""
            )
            cases.add(
                [
                    pk,
                    ts_to_dt(created),
                    ts_to_dt(last_change),
                    reference,
                    user_ids[requester],
                    STATUS_VALUE[status],
                    tier,
                    unit_pk,
                    "Jo Budget" if active else "",
                    BusinessCase.PcChoice.NEW.value if active else "",
                    f"PC-{pk:07d}" if active else "",
                    PURPOSES[i % len(PURPOSES)],
                    AUDIENCES[i % len(AUDIENCES)],
                    INTEGRATIONS[i % len(INTEGRATIONS)],
                    start_date,
                    end_date,
                    True,
                    True,
                    True,
                    True,
                    True,
                    ts_to_dt(submitted) if submitted else None,
                    ts_to_dt(submitted) if submitted else None,
                    ts_to_dt(decided) if decided else None,
                    reason,
                    ts_to_dt(withdrawn) if withdrawn else None,
                    "No longer needed." if withdrawn else "",
                    ts_to_dt(lapsed) if lapsed else None,
                    routing_note,
                    None,
                ]
            )
            for site in sites:
                identities.add(
                    [
                        identity_id,
                        ts_to_dt(created),
                        ts_to_dt(created),
                        pk,
                        site,
                        load.user_name[requester],
                        False,
                        "",
                        True,
                        "",
                    ]
                )
                identity_id += 1

            ev((created << 40) | (EV_CASE_CREATED << 32) | i)
            if submitted is not None:
                ev((submitted << 40) | (EV_CASE_SUBMITTED << 32) | i)
                ev(((submitted + 1) << 40) | (EV_APPROVAL_REQUESTED << 32) | i)
                ar_status = {
                    S_APPROVED: ApprovalRequest.Status.DECIDED.value,
                    S_REJECTED: ApprovalRequest.Status.DECIDED.value,
                    S_WITHDRAWN: ApprovalRequest.Status.SUPERSEDED.value,
                    S_LAPSED: ApprovalRequest.Status.EXPIRED.value,
                    S_SUBMITTED: ApprovalRequest.Status.OPEN.value,
                }[status]
                decision = {S_APPROVED: "approve", S_REJECTED: "reject"}.get(status, "")
                reminders = 3 if status == S_LAPSED else 0
                next_reminder = ts_to_dt(submitted + 3 * DAY) if status == S_SUBMITTED else None
                approvals.add(
                    [
                        next_ar,
                        ts_to_dt(submitted),
                        ts_to_dt(last_change),
                        pk,
                        user_ids[approver],
                        because,
                        None,
                        None,
                        ar_status,
                        hashlib.sha256(f"bench-token-{next_ar}".encode()).hexdigest(),
                        ts_to_dt(submitted + 14 * DAY),
                        ts_to_date(submitted + 7 * DAY),
                        ts_to_dt(opened) if opened else None,
                        reminders,
                        next_reminder,
                        decision,
                        reason,
                        ts_to_dt(decided) if decided else None,
                        None,
                    ]
                )
                next_ar += 1
                if opened:
                    ev((opened << 40) | (EV_APPROVAL_OPENED << 32) | i)
                if status == S_LAPSED:
                    for k in (3, 6, 9):
                        ev(((submitted + k * DAY) << 40) | (EV_APPROVAL_REMINDED << 32) | i)
                    ev((lapsed << 40) | (EV_CASE_LAPSED << 32) | i)
                if withdrawn:
                    ev((withdrawn << 40) | (EV_CASE_WITHDRAWN << 32) | i)
                if decided:
                    ev((decided << 40) | (EV_APPROVAL_DECIDED << 32) | i)

            grant_times = ()
            if status == S_APPROVED:
                gpk = next_grant
                next_grant += 1
                load.case_grant_pk[i] = gpk
                grant_times = grant_add(
                    load,
                    grants=grants,
                    gpk=gpk,
                    i=i,
                    decided=decided,
                    start_date=start_date,
                    end_date=end_date,
                    tier=tier,
                    unit_pk=unit_pk,
                )
                for site in sites:
                    grant_sites.add([grant_site_id, gpk, site])
                    grant_site_id += 1
                ev(((decided + 1) << 40) | (EV_GRANT_CREATED << 32) | i)
                for kind, when in grant_times:
                    ev((when << 40) | (kind << 32) | i)
            load.case_times[i] = (grant_times, tier, start_date, end_date)
            bar.update()
        for table in (cases, identities, approvals, grants, grant_sites, load.reminders):
            table.flush()

    for year, last in reference_numbers.items():
        ReferenceCounter.objects.update_or_create(year=year, defaults={"last_number": last})
