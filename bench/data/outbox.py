"""The outbox: emails already sent about decided cases."""

from access_requests.models import BusinessCase
from bench.data.pg_copy import CopyTable, next_id
from bench.data.state import DAY, S_APPROVED, S_REJECTED, BenchLoad, ts_to_dt
from notifications.models import OutboundEmail


def outbox_load(load: BenchLoad) -> None:
    c = load.counts
    rnd = load.random
    outbox_id = next_id(OutboundEmail)
    table = CopyTable(
        OutboundEmail,
        "id to subject body_text body_html template dedupe_key object_type object_id status attempts last_error claimed_until next_attempt_at sent_at created_at updated_at".split(),
    )
    decided = [i for i, s in enumerate(load.case_status) if s in (S_APPROVED, S_REJECTED)]
    case_type = BusinessCase._meta.label_lower
    for n in range(c.emails):
        i = decided[rnd.randrange(len(decided))] if decided else 0
        when = ts_to_dt(max(load.case_created[i], load.now - 365 * DAY))
        reference = load.case_reference[i] or ""
        table.add(
            [
                outbox_id + n,
                load.user_email[load.case_requester[i]],
                f"Your request {reference} has been decided",
                "Your request has been decided.",
                "",
                "case_decided",
                f"bench-email-{outbox_id + n}",
                case_type,
                str(load.case_pk[i]),
                "sent",
                1,
                "",
                None,
                None,
                when,
                when,
                when,
            ]
        )
    table.flush()
