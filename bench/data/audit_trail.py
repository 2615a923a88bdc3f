"""The audit trail: every case's and grant's events plus sign-ins up to the scale's count,
in time order, forming a valid hash chain (keyed with AUDIT_CHAIN_KEY) from the current
chain head, each event hashed over its client digest as `audit.services.record` writes it.

At scale 10 the chain is 20,000,000 events hashed one after the other, so the loop takes
the fast path of `audit.services`' functions for the values it writes: the one-shot
`hmac.digest`, the canonical JSON without Django's encoder (every value is already a
string, a number or None), and each person's client digest computed once. The tests
verify the loaded chain with `audit_chain_verify`, which uses the services' own functions."""

import hashlib
import hmac
import json

from django.core.management.base import CommandError

from access_requests.models import AccessGrant, BusinessCase
from audit.models import AuditChainHead, AuditEvent
from audit.services import GENESIS_HASH, chain_key, client_digest
from bench.data.pg_copy import NULL, CopyTable, copy_text, next_id
from bench.data.state import (
    EV_APPROVAL_DECIDED,
    EV_APPROVAL_OPENED,
    EV_APPROVAL_REMINDED,
    EV_APPROVAL_REQUESTED,
    EV_CASE_CREATED,
    EV_CASE_LAPSED,
    EV_CASE_SUBMITTED,
    EV_CASE_WITHDRAWN,
    EV_GRANT_CREATED,
    EV_GRANT_EXPIRED,
    EV_GRANT_PROVISIONED,
    EV_GRANT_RETURNED,
    EV_GRANT_REVOKED,
    EV_SIGNED_IN,
    GRANT_STATUS_LABEL,
    S_APPROVED,
    BenchLoad,
    ts_to_dt,
)
from bench.data.vocabulary import USER_AGENTS
from people.models import User


def fast_client_digest(key: bytes, address: str | None, agent: str) -> str:
    """`audit.services.client_digest` for an address already in its normal form."""
    if address is None and not agent:
        return ""
    return hmac.digest(key, f"client\0{address or ''}\0{agent}".encode(), "sha256").hex()


def fast_event_hash(key: bytes, previous: str, content: dict) -> str:
    """`audit.services.event_hash` for content of plain JSON values."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hmac.digest(key, (previous + canonical).encode(), hashlib.sha256).hex()


def audit_trail_load(load: BenchLoad) -> None:
    c = load.counts
    rnd = load.random
    events = load.events
    sign_ins = max(0, c.audit_events - len(events))
    for _ in range(sign_ins):
        user = rnd.randrange(c.staff)
        events.append((rnd.randrange(load.start, load.now) << 40) | (EV_SIGNED_IN << 32) | user)
    events.sort()
    events = events[: max(c.audit_events, 0)] if len(events) > c.audit_events else events

    head = AuditChainHead.objects.filter(pk=1).first()
    previous = head.last_hash if head else GENESIS_HASH
    event_id = next_id(AuditEvent)
    table = CopyTable(
        AuditEvent,
        "id occurred_at actor_id actor_label action object_type object_id object_repr client_address user_agent client_digest changes previous_hash hash".split(),
        chunk_rows=50_000,
    )
    user_ids, emails = load.user_ids, load.user_email
    case_type = BusinessCase._meta.label_lower
    grant_type = AccessGrant._meta.label_lower
    user_type = User._meta.label_lower
    mask = (1 << 32) - 1
    key = chain_key()
    # The services' own functions and the fast path agree on this loader's values.
    if fast_client_digest(key, "10.1.0.1", USER_AGENTS[0]) != client_digest(
        address="10.1.0.1", user_agent=USER_AGENTS[0], key=key
    ):
        raise CommandError("audit.services' client digest changed: update the loader's fast path")
    actor_digests: dict[int, str] = {}
    with load.bar(len(events), "audit events (hash chain)") as bar:
        for n, packed in enumerate(events):
            when = packed >> 40
            kind = (packed >> 32) & 0xFF
            i = packed & mask
            occurred = ts_to_dt(when)
            actor = None
            label = "anonymous"
            address = None
            agent = ""
            if kind == EV_SIGNED_IN:
                actor = i
                obj_type, obj_id, obj_repr = user_type, str(user_ids[i]), emails[i]
                action, changes = "auth.signed_in", {}
            else:
                reference = load.case_reference[i]
                requester = load.case_requester[i]
                obj_type, obj_id = case_type, str(load.case_pk[i])
                obj_repr = reference or f"Draft {load.case_pk[i]}"
                grant_times, tier, start_date, end_date = load.case_times[i]
                if kind == EV_CASE_CREATED:
                    actor, action = requester, "case.created"
                    obj_repr = f"Draft {load.case_pk[i]}"
                    changes = {"status": [None, "draft"]}
                elif kind == EV_CASE_SUBMITTED:
                    actor, action = requester, "case.submitted"
                    changes = {"status": ["draft", "submitted"], "reference": reference}
                elif kind == EV_APPROVAL_REQUESTED:
                    actor, action = requester, "approval.requested"
                    changes = {"approver": emails[load.case_approver[i]]}
                elif kind == EV_APPROVAL_OPENED:
                    action, changes = "approval.opened", {}
                    address = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
                    agent = USER_AGENTS[i % len(USER_AGENTS)]
                elif kind == EV_APPROVAL_REMINDED:
                    label, action = "system:approval_reminder_sweep", "approval.reminded"
                    changes = {"to": emails[load.case_approver[i]]}
                elif kind == EV_APPROVAL_DECIDED:
                    actor, action = load.case_approver[i], "approval.decided"
                    approved = load.case_status[i] == S_APPROVED
                    new = "approved" if approved else "rejected"
                    changes = {
                        "status": ["submitted", new],
                        "decision": "approve" if approved else "reject",
                    }
                elif kind == EV_CASE_WITHDRAWN:
                    actor, action = requester, "case.withdrawn"
                    changes = {"status": ["submitted", "withdrawn"]}
                elif kind == EV_CASE_LAPSED:
                    label, action = "system:lapse_sweep", "case.lapsed"
                    changes = {"status": ["submitted", "lapsed"]}
                else:
                    obj_type, obj_id = grant_type, str(load.case_grant_pk[i])
                    if kind == EV_GRANT_CREATED:
                        actor, action = load.case_approver[i], "grant.created"
                        obj_repr = f"{reference} ({GRANT_STATUS_LABEL['awaiting']})"
                        changes = {
                            "status": [None, "awaiting"],
                            "case": reference,
                            "tier": tier,
                            "start_date": start_date.isoformat(),
                            "end_date": end_date.isoformat(),
                        }
                    elif kind == EV_GRANT_PROVISIONED:
                        actor, action = load.ict[i % len(load.ict)], "grant.provisioned"
                        obj_repr = f"{reference} ({GRANT_STATUS_LABEL['active']})"
                        changes = {"status": ["awaiting", "active"]}
                    elif kind == EV_GRANT_RETURNED:
                        actor, action = load.ict[i % len(load.ict)], "grant.returned"
                        obj_repr = f"{reference} ({GRANT_STATUS_LABEL['returned']})"
                        changes = {"status": ["awaiting", "returned"]}
                    elif kind == EV_GRANT_EXPIRED:
                        label, action = "system:grant_expiry_sweep", "grant.expired"
                        obj_repr = f"{reference} ({GRANT_STATUS_LABEL['expired']})"
                        changes = {"status": ["active", "expired"]}
                    elif kind == EV_GRANT_REVOKED:
                        actor = load.admins[i % len(load.admins)]
                        action = "grant.revoked"
                        obj_repr = f"{reference} ({GRANT_STATUS_LABEL['revoked']})"
                        changes = {"status": ["active", "revoked"]}
                    else:
                        actor, action = requester, "grant.surrendered"
                        obj_repr = f"{reference} ({GRANT_STATUS_LABEL['surrendered']})"
                        changes = {"status": ["active", "surrendered"]}
            digest_of_client = None
            if actor is not None:
                label = emails[actor]
                if address is None:
                    address = f"10.1.{(actor >> 8) & 255}.{actor & 255}"
                    agent = USER_AGENTS[actor % len(USER_AGENTS)]
                    digest_of_client = actor_digests.get(actor)
                    if digest_of_client is None:
                        digest_of_client = fast_client_digest(key, address, agent)
                        actor_digests[actor] = digest_of_client
                actor = user_ids[actor]
            if digest_of_client is None:
                digest_of_client = fast_client_digest(key, address, agent)
            content = {
                "occurred_at": occurred.isoformat(),
                "actor_id": actor,
                "actor_label": label,
                "action": action,
                "object_type": obj_type,
                "object_id": obj_id,
                "object_repr": obj_repr,
                "client_digest": digest_of_client,
                "changes": changes,
            }
            digest = fast_event_hash(key, previous, content)
            table.add_line(
                f"{event_id + n}\t{content['occurred_at']}\t"
                f"{actor if actor is not None else NULL}\t{label}\t{action}\t"
                f"{obj_type}\t{obj_id}\t{obj_repr}\t"
                f"{address if address else NULL}\t{agent}\t{content['client_digest']}\t"
                f"{copy_text(changes)}\t{previous}\t{digest}"
            )
            previous = digest
            if n % 10_000 == 9_999:
                bar.update(10_000)
        table.flush()
        bar.update(len(events) % 10_000)
    if events:
        # The head's trigger checks the move: to the newest event, along the chain.
        AuditChainHead.objects.update_or_create(
            pk=1, defaults={"last_hash": previous, "last_id": event_id + len(events) - 1}
        )
    load.audit_count = len(events)
