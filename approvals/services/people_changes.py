"""What a change in the staff directory means for access. The directory's own change (a
person switched off, moved, a directorate's new director) is `people.directory`'s and has
happened already, in the caller's transaction; these services carry its consequences:

- `person_leave`: a person switched off (left the department, or an admin's decision):
  their grants end, ICT is told, their open cases are withdrawn, the approval requests
  they hold go to someone else, and the delegations they gave or hold end;
- `person_move`: a person in another directorate: their open cases go to its approver, and
  its director is told of any access they hold;
- `directorate_director_change`: the outgoing director's open requests go to the new one
  (or the fallback), and their delegations end if they lead no directorate now;
- `person_switch_off` / `person_switch_on`: an admin's decision for one person, with the
  same effects as a leaver.

Lock order, as everywhere: delegations, then each business case, then its requests.
"""

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from access_requests.models import AccessGrant, BusinessCase
from access_requests.services.grant_emails import grant_page_url
from audit.services import NewEvent, record_many
from core.client import Client
from notifications.rendering import email_date
from notifications.services import email_queue
from people.models import Directorate, User
from people.switching import person_activate, person_deactivate

from ..models import ApprovalRequest, Delegation
from .closing import case_withdraw, grant_revoke_closing_renewals
from .rerouting import case_reroute

LEFT_THE_DEPARTMENT = "left the department"


@dataclass
class LeaverEffects:
    grants_ended: list[int] = field(default_factory=list)
    cases_withdrawn: list[int] = field(default_factory=list)
    cases_rerouted: list[int] = field(default_factory=list)
    delegations_ended: list[int] = field(default_factory=list)


def _delegations_end(*, delegations: list[Delegation], actor, because: str, client) -> None:
    """End these delegations now (they are locked by the caller): no new cases go to the
    deputy; the caller re-routes the cases they hold."""
    if not delegations:
        return
    now = timezone.now()
    Delegation.objects.filter(pk__in=[d.pk for d in delegations]).update(
        cancelled_at=now, updated_at=now
    )
    record_many(
        actor=actor,
        events=[
            NewEvent(
                action="delegation.ended",
                obj=delegation,
                changes={
                    "cancelled_at": [None, now],
                    "director": delegation.director.email,
                    "deputy": delegation.deputy.email,
                    "because": because,
                },
                client=client,
            )
            for delegation in delegations
        ],
    )


def _delegations_current(query: Q) -> list[Delegation]:
    return list(
        Delegation.objects.select_for_update(of=("self",))
        .select_related("director", "deputy")
        .filter(query, cancelled_at__isnull=True, ends_on__gte=timezone.localdate())
        .order_by("pk")
    )


def _cases_to_reroute(query: Q) -> list[BusinessCase]:
    ids = (
        ApprovalRequest.objects.filter(query, status=ApprovalRequest.Status.OPEN)
        .values_list("business_case_id", flat=True)
        .distinct()
    )
    return list(
        BusinessCase.objects.filter(pk__in=ids, status=BusinessCase.Status.SUBMITTED).order_by("pk")
    )


def person_leave(
    *, person: User, actor, reason: str = LEFT_THE_DEPARTMENT, client: Client | None = None
) -> LeaverEffects:
    """The access effects of a person switched off (`people.switching.person_deactivate`
    first): their current grants are revoked with `reason` (the holder and ICT are told, ICT
    asked to withdraw the access and recover any standalone PC; a renewal under way closes),
    their sent cases are withdrawn, the delegations they gave or hold end, and each case
    waiting for their decision (or a deputy's on their behalf) is re-routed."""
    effects = LeaverEffects()
    name = person.display_name
    with transaction.atomic():
        delegations = _delegations_current(Q(director=person) | Q(deputy=person))
        _delegations_end(
            delegations=delegations, actor=actor, because=f"{name} {reason}", client=client
        )
        effects.delegations_ended = [d.pk for d in delegations]
        for grant in AccessGrant.objects.filter(
            holder=person, status__in=AccessGrant.Status.current()
        ).order_by("pk"):
            grant_revoke_closing_renewals(grant=grant, actor=actor, reason=reason, client=client)
            effects.grants_ended.append(grant.pk)
        for case in BusinessCase.objects.filter(
            requester=person, status__in=BusinessCase.Status.sent_undecided()
        ).order_by("pk"):
            case_withdraw(case=case, actor=actor, reason=f"The requester {reason}.", client=client)
            effects.cases_withdrawn.append(case.pk)
        for case in _cases_to_reroute(
            Q(approver=person) | Q(on_behalf_of=person) | Q(delegation__in=delegations)
        ):
            done = case_reroute(case=case, actor=actor, because=f"{name} {reason}", client=client)
            if done.superseded or done.created:
                effects.cases_rerouted.append(case.pk)
    return effects


def person_move(
    *, person: User, from_directorate: str, actor, client: Client | None = None
) -> list[int]:
    """A person now in another directorate: each of their sent cases goes to its approver
    (`case_reroute`), and when they hold current access its director is emailed that a
    person with access has joined (the grants stay; the director may revoke them). Returns
    the ids of the cases re-routed."""
    with transaction.atomic():
        person = User.objects.select_related("profile__business_unit__directorate__director").get(
            pk=person.pk
        )
        directorate = person.profile.business_unit.directorate
        rerouted = []
        for case in BusinessCase.objects.filter(
            requester=person, status=BusinessCase.Status.SUBMITTED
        ).order_by("pk"):
            because = f"{person.display_name} moved to {directorate.name}"
            if case_reroute(case=case, actor=actor, because=because, client=client).created:
                rerouted.append(case.pk)
        director = directorate.director
        grants = list(
            AccessGrant.objects.filter(holder=person, status__in=AccessGrant.Status.current())
            .select_related("business_case")
            .prefetch_related("sites")
            .order_by("pk")
        )
        if grants and director is not None and director.is_active and director.pk != person.pk:
            email_queue(
                to=director.email,
                template="grant_holder_joined_directorate",
                context={
                    "recipient_name": director.display_name,
                    "holder_name": person.display_name,
                    "holder_email": person.email,
                    "from_directorate": from_directorate,
                    "directorate": directorate.name,
                    "grants": [
                        {
                            "reference": grant.business_case.reference,
                            "tier": grant.get_tier_display(),
                            "sites": ", ".join(sorted(site.name for site in grant.sites.all())),
                            "end_date": email_date(grant.end_date),
                            "url": grant_page_url(grant),
                        }
                        for grant in grants
                    ],
                },
                related=person,
                dedupe_key=(
                    f"grant-holder-joined:{person.pk}:{directorate.pk}:{grants[-1].pk}:"
                    f"{timezone.localdate():%Y%m%d}"
                ),
            )
        if grants:
            record_many(
                actor=actor,
                events=[
                    NewEvent(
                        action="grant.holder_moved",
                        obj=grant,
                        changes={
                            "directorate": [from_directorate, directorate.name],
                            "director_told": director.email
                            if director is not None and director.is_active
                            else None,
                        },
                        client=client,
                    )
                    for grant in grants
                ],
            )
    return rerouted


def directorate_director_change(
    *, directorate: Directorate, old_director: User, actor, client: Client | None = None
) -> list[int]:
    """A directorate's director changed (its row already names the new one, or nobody):
    the cases from its people waiting for the outgoing director (or a deputy of theirs) are
    re-routed, so the new director, or the fallback, is sent them and the old links say why
    they no longer work. The outgoing director's delegations end unless they still lead a
    directorate. Returns the ids of the cases re-routed."""
    with transaction.atomic():
        directorate = Directorate.objects.select_related("director__profile").get(pk=directorate.pk)
        leads_another = Directorate.objects.filter(director=old_director).exists()
        delegations = [] if leads_another else _delegations_current(Q(director=old_director))
        new = directorate.director
        because = (
            f"{new.display_name} is the new director of {directorate.name}"
            if new is not None
            else f"{old_director.display_name} is no longer the director of {directorate.name}"
        )
        _delegations_end(delegations=delegations, actor=actor, because=because, client=client)
        cases = _cases_to_reroute(
            (
                Q(approver=old_director)
                | Q(on_behalf_of=old_director)
                | Q(delegation__in=delegations)
            )
            & Q(business_case__requester__profile__business_unit__directorate=directorate)
        )
        if delegations:
            # Their deputies' cases from other directorates close through the delegation too.
            cases = sorted(
                {
                    case.pk: case
                    for case in cases + _cases_to_reroute(Q(delegation__in=delegations))
                }.values(),
                key=lambda case: case.pk,
            )
        return [
            case.pk
            for case in cases
            if case_reroute(case=case, actor=actor, because=because, client=client).created
        ]


def person_switch_off(
    *, person: User, actor, reason: str, client: Client | None = None
) -> LeaverEffects:
    """An admin switches a person off, with a reason: they cannot sign in, their sessions
    end, and their access ends as a leaver's does (`person_leave`, the reason given)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("A reason is required")
    with transaction.atomic():
        person_deactivate(person=person, actor=actor, reason=reason, client=client)
        return person_leave(person=person, actor=actor, reason=reason, client=client)


def person_switch_on(*, person: User, actor, client: Client | None = None) -> User:
    """An admin switches a person back on: they may sign in again. What ended when they
    were switched off stays ended (they ask again for access)."""
    return person_activate(person=person, actor=actor, client=client)
