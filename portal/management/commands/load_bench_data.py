"""Load a department-scale data set for the benchmark (`make bench`), fast.

At `--scale 1.0`: 50,000 staff in 3 organisations and 40 directorates, 200,000 grants (one
per approved case) plus 24,000 cases in the other statuses over 5 years, their approval
requests and site identities, the active tier's safe-use reminders (most confirmed),
2,000,000 audit events forming a valid hash chain, and 20,000 sent emails. Rows go in with
PostgreSQL `COPY` from in-memory buffers, in one transaction, then `VACUUM ANALYZE`. A marker table (`bench_dataset`) records the scale, so
a second run at the same scale does nothing; `--reset` empties the portal's tables first.
"""

import datetime
import hashlib
import io
import json
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection, models, transaction
from django.db.models.fields import NOT_PROVIDED
from tqdm import tqdm

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
from audit.models import AuditChainHead, AuditEvent
from audit.services import GENESIS_HASH, event_hash
from notifications.models import OutboundEmail
from people.models import (
    BusinessUnit,
    Directorate,
    Organisation,
    PersonSearchText,
    Role,
    StaffProfile,
    User,
)
from people.roles import roles_sync

MARKER_TABLE = "bench_dataset"
BENCH_PASSWORD = "bench-password-2026"  # noqa: S105 - benchmark data only
EMAIL_DOMAIN = "bench.example.gov.uk"

# The people the benchmark signs in as (see bench/pages.py).
BENCH_USERS = {
    "admin": f"bench.admin@{EMAIL_DOMAIN}",
    "auditor": f"bench.auditor@{EMAIL_DOMAIN}",
    "ict": f"bench.ict@{EMAIL_DOMAIN}",
    "staff": f"bench.staff@{EMAIL_DOMAIN}",
    "director": f"bench.director@{EMAIL_DOMAIN}",
}
SPECIAL_USERS = 4  # admin, auditor, ict, staff; the directors follow them

UTC = datetime.UTC
NULL = "\\N"  # COPY text format
DAY = 86400
FIRST_NAMES = (
    "Aisha Alex Amir Anna Ben Bola Carys Chen Chloe Dana Daniel Deepa Ella Emeka Fatima Finn "
    "Grace Hamza Hannah Ian Isla Jack James Jo Kai Kemi Laura Leo Lily Mark Maya Mohammed "
    "Nadia Niamh Noah Oliver Omar Priya Rachel Ravi Rosa Ruth Sam Sara Sean Sophie Tariq Tom "
    "Uma Victor Wei Yusuf Zara Zoe"
).split()
LAST_NAMES = (
    "Adams Ahmed Ali Baker Begum Bell Brown Campbell Chen Clarke Davies Evans Green Hall "
    "Harris Hughes Hussain Jackson James Jones Kaur Khan Lewis Martin Mensah Moore Morgan "
    "Murphy Nguyen Okafor Owen Patel Phillips Price Roberts Robinson Scott Shah Singh Smith "
    "Taylor Thomas Thompson Turner Walker Ward Watson White Williams Wilson Wood Wright Young"
).split()
JOB_TITLES = [
    "Policy Adviser",
    "Senior Policy Adviser",
    "Communications Officer",
    "Press Officer",
    "Digital Engagement Lead",
    "Analyst",
    "Operations Manager",
    "Caseworker",
    "Team Leader",
    "Investigator",
]
PURPOSES = [
    "Monitor public discussion of visa policy to brief ministers each week.",
    "Answer questions from the public about passport applications during the busy season.",
    "Publish recruitment campaigns for border officers and reply to applicants.",
    "Follow stakeholder organisations to spot emerging issues with the asylum system.",
    "Run the directorate's official account: announcements, replies and live events.",
]
AUDIENCES = [
    "Members of the public and stakeholder organisations.",
    "Journalists, charities and community groups.",
    "Prospective applicants and their advisers.",
]
INTEGRATIONS = [
    "Feeds the weekly communications plan and the press office grid.",
    "Supports the campaign run with the digital team.",
    "Complements the published guidance on GOV.UK.",
]
USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
]


@dataclass(frozen=True)
class BenchCounts:
    """How many of each thing a scale gives (the tests check the loader against this)."""

    staff: int
    organisations: int
    directorates: int
    business_units: int
    grants: int
    submitted: int
    rejected: int
    withdrawn: int
    lapsed: int
    drafts: int
    audit_events: int
    emails: int

    @property
    def cases(self) -> int:
        return (
            self.grants
            + self.submitted
            + self.rejected
            + self.withdrawn
            + self.lapsed
            + self.drafts
        )


def bench_counts(scale: float) -> BenchCounts:
    def scaled(base: int, minimum: int) -> int:
        return max(minimum, round(base * scale))

    staff = scaled(50_000, 50)
    directorates = min(40, max(3, staff // 25))
    return BenchCounts(
        staff=staff,
        organisations=3,
        directorates=directorates,
        business_units=directorates * 5,
        grants=scaled(200_000, 20),
        submitted=scaled(6_000, 2),
        rejected=scaled(8_000, 2),
        withdrawn=scaled(4_000, 1),
        lapsed=scaled(3_000, 1),
        drafts=scaled(3_000, 1),
        audit_events=scaled(2_000_000, 500),
        emails=scaled(20_000, 10),
    )


# --- COPY ------------------------------------------------------------------------------


def copy_text(value) -> str:
    """One value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, dict | list):
        value = json.dumps(value, separators=(",", ":"))
    value = str(value)
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        value = (
            value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "")
        )
    return value


class CopyTable:
    """COPY rows into a model's table. Rows give `columns` in order; any other column of
    the model (a field added later) gets its default, or the load stops with a clear error."""

    def __init__(self, model: type[models.Model], columns: list[str], chunk_rows: int = 50_000):
        self.model = model
        self.table = model._meta.db_table
        fields = {f.column: f for f in model._meta.concrete_fields}
        unknown = [c for c in columns if c not in fields]
        if unknown:
            raise CommandError(f"{self.table} has no column(s) {unknown}")
        suffix = []
        # Columns the rows leave out: an id fills itself from its sequence, others default.
        extra = [
            c
            for c in fields
            if c not in columns
            and not isinstance(fields[c], models.AutoField | models.BigAutoField)
        ]
        for column in extra:
            field = fields[column]
            if field.default is not NOT_PROVIDED:
                default = field.get_default()
            elif field.null:
                default = None
            elif isinstance(field, models.CharField | models.TextField) and field.blank:
                default = ""
            else:
                raise CommandError(
                    f"load_bench_data does not know how to fill {self.table}.{column}: "
                    "give it a value in portal/management/commands/load_bench_data.py"
                )
            suffix.append(copy_text(default))
        self.columns = columns + extra
        self.suffix = "".join("\t" + text for text in suffix)
        self.chunk_rows = chunk_rows
        self.lines: list[str] = []
        self.count = 0

    def add(self, values: Iterable) -> None:
        self.add_line("\t".join(copy_text(v) for v in values))

    def add_line(self, line: str) -> None:
        """A line already in COPY text format (for the hot loops)."""
        self.lines.append(line + self.suffix + "\n")
        if len(self.lines) >= self.chunk_rows:
            self.flush()

    def flush(self) -> None:
        if not self.lines:
            return
        buffer = io.StringIO("".join(self.lines))
        columns = ", ".join(f'"{c}"' for c in self.columns)
        with connection.cursor() as cursor:
            cursor.cursor.copy_expert(f'COPY "{self.table}" ({columns}) FROM STDIN', buffer)
        self.count += len(self.lines)
        self.lines = []


def next_id(model: type[models.Model]) -> int:
    """The first free id: the load continues after rows that are already there."""
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{model._meta.db_table}"')  # noqa: S608 - table names from the models, never input
        return cursor.fetchone()[0] + 1


def reset_sequence(model: type[models.Model]) -> None:
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "  # noqa: S608 - table names from the models, never input
            f'COALESCE((SELECT MAX(id) FROM "{table}"), 1))'
        )


def secondary_indexes_drop(models_: list[type[models.Model]]) -> list[str]:
    """Drop the indexes that back no constraint (COPY then skips their upkeep); returns the
    statements that build them again, which is much faster than row-by-row upkeep."""
    definitions = []
    with connection.cursor() as cursor:
        for model in models_:
            cursor.execute(
                "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
                "JOIN pg_class i ON i.oid = x.indexrelid "
                "WHERE x.indrelid = %s::regclass AND NOT EXISTS "
                "(SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)",
                [f'"{model._meta.db_table}"'],
            )
            for name, definition in cursor.fetchall():
                cursor.execute(f'DROP INDEX "{name}"')
                definitions.append(definition)
    return definitions


def indexes_build(definitions: list[str], progress: bool) -> None:
    with connection.cursor() as cursor:
        # Pending (deferred) foreign key checks must run before an index is built.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for definition in tqdm(definitions, desc="indexes", unit="index", disable=not progress):
            cursor.execute(definition)


# --- the data set --------------------------------------------------------------------------

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


class BenchLoader:
    def __init__(self, *, scale: float, seed: int, progress: bool, log):
        self.scale = scale
        self.counts = bench_counts(scale)
        self.random = random.Random(seed)
        self.progress = progress
        self.log = log
        self.now = int(time.time())
        self.today = ts_to_date(self.now)
        self.start = self.now - 5 * 365 * DAY
        # Its own stream, so that adding reminders left every other generated row as it was.
        self.reminder_random = random.Random(seed + 1)
        self.reminder_count = 0

    def bar(self, total: int, desc: str):
        return tqdm(total=total, desc=desc, unit="row", disable=not self.progress, leave=True)

    # people ------------------------------------------------------------------------------

    def load_people(self) -> None:
        c = self.counts
        rnd = self.random
        now_dt = ts_to_dt(self.now)
        password = make_password(BENCH_PASSWORD)  # hashed once, shared by every account
        roles_sync()
        groups = {role: Group.objects.get_or_create(name=role)[0].pk for role in Role.values}

        org_id = next_id(Organisation)
        dir_id = next_id(Directorate)
        unit_id = next_id(BusinessUnit)
        user_id = next_id(User)
        profile_id = next_id(StaffProfile)
        self.user_ids = [user_id + j for j in range(c.staff)]

        orgs = CopyTable(Organisation, ["id", "name", "kind", "created_at", "updated_at"])
        org_kinds = ["hq", "agency", "ndpb"]
        org_names = ["Bench Headquarters", "Bench Border Agency", "Bench Advisory Body"]
        self.org_ids = [org_id + k for k in range(c.organisations)]
        for k in range(c.organisations):
            orgs.add([org_id + k, org_names[k], org_kinds[k], now_dt, now_dt])
        orgs.flush()

        # Directorate d belongs to organisation 0 for the first 70%, then 1, then 2.
        self.dir_org = [
            0 if d < c.directorates * 0.7 else (1 if d < c.directorates * 0.88 else 2)
            for d in range(c.directorates)
        ]
        # User SPECIAL_USERS + d directs directorate d.
        self.director_of_dir = [SPECIAL_USERS + d for d in range(c.directorates)]
        self.dir_ids = [dir_id + d for d in range(c.directorates)]
        # Directors are inserted after the users (a foreign key): directorates first without.
        dirs = CopyTable(
            Directorate,
            ["id", "organisation_id", "name", "director_id", "created_at", "updated_at"],
        )
        for d in range(c.directorates):
            dirs.add(
                [
                    dir_id + d,
                    self.org_ids[self.dir_org[d]],
                    f"Directorate {d + 1:02d}",
                    None,
                    now_dt,
                    now_dt,
                ]
            )
        dirs.flush()

        units = CopyTable(
            BusinessUnit,
            ["id", "directorate_id", "name", "cost_centre", "created_at", "updated_at"],
        )
        self.unit_ids = [unit_id + u for u in range(c.business_units)]
        for u in range(c.business_units):
            units.add(
                [
                    unit_id + u,
                    self.dir_ids[u // 5],
                    f"Unit {u + 1:03d}",
                    f"BENCH{u + 1:05d}",
                    now_dt,
                    now_dt,
                ]
            )
        units.flush()

        # Who is what.
        self.user_unit = [j % c.business_units for j in range(c.staff)]
        for d in range(c.directorates):
            self.user_unit[self.director_of_dir[d]] = d * 5
        extra_admins = set(range(c.staff - 4, c.staff))
        extra_auditors = set(range(c.staff - 8, c.staff - 4))
        extra_ict = set(range(c.staff - 18, c.staff - 8))
        self.admins = [0, *sorted(extra_admins)]
        self.ict = [2, *sorted(extra_ict)]

        users = CopyTable(
            User,
            "id password last_login is_superuser first_name last_name is_staff is_active date_joined email".split(),
        )
        profiles = CopyTable(
            StaffProfile,
            "id user_id commonly_used_name job_title business_unit_id created_at updated_at".split(),
        )
        memberships = CopyTable(User.groups.through, ["user_id", "group_id"])
        self.user_email: list[str] = []
        self.user_name: list[str] = []
        named = {0: "admin", 1: "auditor", 2: "ict", 3: "staff", SPECIAL_USERS: "director"}
        with self.bar(c.staff, "staff") as bar:
            for j in range(c.staff):
                first = FIRST_NAMES[rnd.randrange(len(FIRST_NAMES))]
                last = LAST_NAMES[rnd.randrange(len(LAST_NAMES))]
                email = (
                    BENCH_USERS[named[j]]
                    if j in named
                    else f"{first.lower()}.{last.lower()}.{j}@{EMAIL_DOMAIN}"
                )
                self.user_email.append(email)
                self.user_name.append(f"{first} {last}")
                joined = ts_to_dt(self.start - rnd.randrange(365 * DAY))
                is_admin = j == 0 or j in extra_admins
                users.add(
                    [user_id + j, password, None, False, first, last, is_admin, True, joined, email]
                )
                profiles.add(
                    [
                        profile_id + j,
                        user_id + j,
                        f"{first} {last}",
                        JOB_TITLES[j % len(JOB_TITLES)],
                        self.unit_ids[self.user_unit[j]],
                        joined,
                        joined,
                    ]
                )
                roles = [Role.STAFF]
                if is_admin:
                    roles.append(Role.ADMIN)
                if j == 1 or j in extra_auditors:
                    roles.append(Role.AUDITOR)
                if j == 2 or j in extra_ict:
                    roles.append(Role.ICT)
                if SPECIAL_USERS <= j < SPECIAL_USERS + c.directorates:
                    roles.append(Role.DIRECTOR)
                for role in roles:
                    memberships.add([user_id + j, groups[role]])
                bar.update()
            users.flush()
            profiles.flush()
            memberships.flush()

        with connection.cursor() as cursor:
            for d in range(c.directorates):
                cursor.execute(
                    f'UPDATE "{Directorate._meta.db_table}" SET director_id = %s WHERE id = %s',  # noqa: S608 - table names from the models, never input
                    [self.user_ids[self.director_of_dir[d]], self.dir_ids[d]],
                )
            cursor.execute(
                f'UPDATE "{Organisation._meta.db_table}" SET fallback_approver_id = %s '  # noqa: S608 - table names from the models, never input
                "WHERE id = ANY(%s)",
                [self.user_ids[0], self.org_ids],
            )

    # cases, approvals, grants --------------------------------------------------------------

    def plan_cases(self) -> None:
        """Decide every case's status, people and times, in order of creation."""
        c = self.counts
        rnd = self.random
        statuses = (
            [S_APPROVED] * c.grants
            + [S_REJECTED] * c.rejected
            + [S_WITHDRAWN] * c.withdrawn
            + [S_LAPSED] * c.lapsed
        )
        rnd.shuffle(statuses)
        # Closed cases spread over five years (ending 45 days ago); open ones are recent.
        old_end = self.now - 45 * DAY
        created = sorted(rnd.randrange(self.start, old_end) for _ in statuses)
        recent = sorted(
            [
                (rnd.randrange(self.now - 25 * DAY, self.now - DAY), S_SUBMITTED)
                for _ in range(c.submitted)
            ]
            + [
                (rnd.randrange(self.now - 60 * DAY, self.now - 600), S_DRAFT)
                for _ in range(c.drafts)
            ]
        )
        self.case_created = created + [t for t, _ in recent]
        self.case_status = statuses + [s for _, s in recent]
        n = len(self.case_status)
        # Ordinary requesters: everyone except the admin, auditor and ICT accounts;
        # bench.staff (user 3) has a case in every n // 60.
        first_ordinary = 3
        staff_every = max(2, n // 60)
        self.case_requester = [
            3 if i % staff_every == 0 else rnd.randrange(first_ordinary, c.staff) for i in range(n)
        ]

    def load_cases(self) -> None:
        rnd = self.random
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
        self.reminders = CopyTable(
            SafeUseReminder, "id grant_id period sent_at confirm_by confirmed_at".split()
        )
        self.next_reminder_id = next_id(SafeUseReminder)

        # Facts the audit trail needs, per case (index i).
        n = len(self.case_status)
        self.case_pk = [case_id + i for i in range(n)]
        self.case_reference: list[str | None] = [None] * n
        self.case_approver = [0] * n
        self.case_grant_pk: list[int | None] = [None] * n
        self.case_times: list[tuple] = [()] * n
        self.events: list[int] = []
        ev = self.events.append

        reference_numbers: dict[int, int] = {}
        user_ids = self.user_ids
        next_grant = grant_id
        next_ar = ar_id
        with self.bar(n, "cases, approvals, grants") as bar:
            for i in range(n):
                status = self.case_status[i]
                requester = self.case_requester[i]
                created = self.case_created[i]
                pk = case_id + i
                tier = AccessTier.ACTIVE.value if rnd.random() < 0.2 else AccessTier.PASSIVE.value
                active = tier == AccessTier.ACTIVE.value
                unit_pk = self.unit_ids[self.user_unit[requester]] if active else None
                months = rnd.randint(1, 6 if active else 12)
                sites = rnd.sample(site_ids, rnd.choice((1, 1, 1, 2, 2, 3)))

                # Who decides: the requester's director, or the fallback (an admin).
                directorate = self.user_unit[requester] // 5
                director = self.director_of_dir[directorate]
                if director == requester:
                    approver, because = 0, ApprovalRequest.Reason.FALLBACK.value
                    routing_note = "You are the director of your directorate."
                else:
                    approver, because = director, ApprovalRequest.Reason.DIRECTOR.value
                    routing_note = ""
                self.case_approver[i] = approver

                submitted = None if status == S_DRAFT else created + rnd.randrange(600, 3 * DAY)
                reference = None
                if submitted is not None:
                    year = ts_to_date(submitted).year
                    reference_numbers[year] = reference_numbers.get(year, 0) + 1
                    reference = f"SNS-{year}-{reference_numbers[year]:05d}"
                self.case_reference[i] = reference
                opened = decided = withdrawn = lapsed = None
                if status in (S_APPROVED, S_REJECTED):
                    opened = submitted + rnd.randrange(600, 4 * DAY)
                    decided = opened + rnd.randrange(60, 3 * DAY)
                elif status == S_WITHDRAWN:
                    withdrawn = submitted + rnd.randrange(3600, 10 * DAY)
                elif status == S_LAPSED:
                    lapsed = submitted + 30 * DAY + rnd.randrange(3600)
                elif status == S_SUBMITTED and rnd.random() < 0.5:
                    opened = min(self.now - 60, submitted + rnd.randrange(600, 2 * DAY))

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
                            self.user_name[requester],
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
                    self.case_grant_pk[i] = gpk
                    grant_times = self.add_grant(
                        grants, gpk, i, decided, start_date, end_date, tier, unit_pk
                    )
                    for site in sites:
                        grant_sites.add([grant_site_id, gpk, site])
                        grant_site_id += 1
                    ev(((decided + 1) << 40) | (EV_GRANT_CREATED << 32) | i)
                    for kind, when in grant_times:
                        ev((when << 40) | (kind << 32) | i)
                self.case_times[i] = (grant_times, tier, start_date, end_date)
                bar.update()
            for table in (cases, identities, approvals, grants, grant_sites, self.reminders):
                table.flush()

        for year, last in reference_numbers.items():
            ReferenceCounter.objects.update_or_create(year=year, defaults={"last_number": last})

    def add_grant(self, grants, gpk, i, decided, start_date, end_date, tier, unit_pk):
        """One grant row; returns its lifecycle events [(kind, when)]."""
        rnd = self.random
        requester = self.case_requester[i]
        now = self.now
        end_ts = date_to_ts(end_date)
        provisioned = min(now - 60, decided + rnd.randrange(3600, 3 * DAY))
        events = []
        provisioned_at = provisioned_by = expired_at = revoked_at = revoked_by = None
        surrendered_at = None
        returned_reason = revocation_reason = ""
        roll = rnd.random()
        ict = self.ict[gpk % len(self.ict)]
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
                revoked_by = self.admins[gpk % len(self.admins)]
                revocation_reason = "Misuse of the account reported by the press office."
                events.append((EV_GRANT_REVOKED, revoked_at))
            elif roll < 0.13 and last > provisioned + 60:
                status = "surrendered"
                surrendered_at = rnd.randrange(provisioned + 60, last)
                events.append((EV_GRANT_SURRENDERED, surrendered_at))
            elif end_date < self.today:
                status = "expired"
                expired_at = min(now - 60, end_ts + DAY + 2 * 3600 + rnd.randrange(600))
                events.append((EV_GRANT_EXPIRED, expired_at))
            else:
                status = "active"
        if tier == AccessTier.ACTIVE and provisioned_at:
            ended = revoked_at or surrendered_at or (end_ts if status == "expired" else None)
            self.add_safe_use_reminders(gpk, provisioned_at, min(ended or now, now))
        last_change = max([decided, *(when for _, when in events)])
        grants.add(
            [
                gpk,
                ts_to_dt(decided + 1),
                ts_to_dt(last_change),
                self.case_pk[i],
                self.user_ids[requester],
                tier,
                start_date,
                end_date,
                status,
                self.user_ids[self.case_approver[i]],
                None,
                ts_to_dt(decided),
                unit_pk,
                f"PC-{self.case_pk[i]:07d}" if unit_pk else "",
                None,
                ts_to_dt(provisioned_at) if provisioned_at else None,
                self.user_ids[provisioned_by] if provisioned_by is not None else None,
                returned_reason,
                ts_to_dt(expired_at) if expired_at else None,
                ts_to_dt(revoked_at) if revoked_at else None,
                self.user_ids[revoked_by] if revoked_by is not None else None,
                revocation_reason,
                ts_to_dt(surrendered_at) if surrendered_at else None,
                None,
            ]
        )
        return events

    def add_safe_use_reminders(self, gpk: int, provisioned: int, until: int) -> None:
        """The reminders an active-tier grant was sent, one a period from provisioning until
        `until`: nine in ten confirmed within the 14 days, the rest never (those still on
        an active grant are what a director's home page lists)."""
        rnd = self.reminder_random
        every = settings.SNS_SAFE_USE_REMINDER_DAYS * DAY
        allowed = settings.SNS_SAFE_USE_CONFIRM_DAYS * DAY
        period = 1
        while provisioned + period * every < until:
            sent = provisioned + period * every
            confirmed = sent + rnd.randrange(3600, allowed) if rnd.random() < 0.9 else None
            self.reminders.add(
                [
                    self.next_reminder_id,
                    gpk,
                    period,
                    ts_to_dt(sent),
                    ts_to_date(sent + allowed),
                    ts_to_dt(confirmed) if confirmed and confirmed < self.now else None,
                ]
            )
            self.next_reminder_id += 1
            self.reminder_count += 1
            period += 1

    # the audit trail ---------------------------------------------------------------------------

    def load_audit(self) -> None:
        c = self.counts
        rnd = self.random
        events = self.events
        sign_ins = max(0, c.audit_events - len(events))
        for _ in range(sign_ins):
            user = rnd.randrange(c.staff)
            events.append((rnd.randrange(self.start, self.now) << 40) | (EV_SIGNED_IN << 32) | user)
        events.sort()
        events = events[: max(c.audit_events, 0)] if len(events) > c.audit_events else events

        head = AuditChainHead.objects.filter(pk=1).first()
        previous = head.last_hash if head else GENESIS_HASH
        event_id = next_id(AuditEvent)
        table = CopyTable(
            AuditEvent,
            "id occurred_at actor_id actor_label action object_type object_id object_repr client_address user_agent changes previous_hash hash".split(),
            chunk_rows=50_000,
        )
        user_ids, emails = self.user_ids, self.user_email
        case_type = BusinessCase._meta.label_lower
        grant_type = AccessGrant._meta.label_lower
        user_type = User._meta.label_lower
        mask = (1 << 32) - 1
        with self.bar(len(events), "audit events (hash chain)") as bar:
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
                    reference = self.case_reference[i]
                    requester = self.case_requester[i]
                    obj_type, obj_id = case_type, str(self.case_pk[i])
                    obj_repr = reference or f"Draft {self.case_pk[i]}"
                    grant_times, tier, start_date, end_date = self.case_times[i]
                    if kind == EV_CASE_CREATED:
                        actor, action = requester, "case.created"
                        obj_repr = f"Draft {self.case_pk[i]}"
                        changes = {"status": [None, "draft"]}
                    elif kind == EV_CASE_SUBMITTED:
                        actor, action = requester, "case.submitted"
                        changes = {"status": ["draft", "submitted"], "reference": reference}
                    elif kind == EV_APPROVAL_REQUESTED:
                        actor, action = requester, "approval.requested"
                        changes = {"approver": emails[self.case_approver[i]]}
                    elif kind == EV_APPROVAL_OPENED:
                        action, changes = "approval.opened", {}
                        address = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
                        agent = USER_AGENTS[i % len(USER_AGENTS)]
                    elif kind == EV_APPROVAL_REMINDED:
                        label, action = "system:approval_reminder_sweep", "approval.reminded"
                        changes = {"to": emails[self.case_approver[i]]}
                    elif kind == EV_APPROVAL_DECIDED:
                        actor, action = self.case_approver[i], "approval.decided"
                        approved = self.case_status[i] == S_APPROVED
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
                        obj_type, obj_id = grant_type, str(self.case_grant_pk[i])
                        if kind == EV_GRANT_CREATED:
                            actor, action = self.case_approver[i], "grant.created"
                            obj_repr = f"{reference} ({GRANT_STATUS_LABEL['awaiting']})"
                            changes = {
                                "status": [None, "awaiting"],
                                "case": reference,
                                "tier": tier,
                                "start_date": start_date.isoformat(),
                                "end_date": end_date.isoformat(),
                            }
                        elif kind == EV_GRANT_PROVISIONED:
                            actor, action = self.ict[i % len(self.ict)], "grant.provisioned"
                            obj_repr = f"{reference} ({GRANT_STATUS_LABEL['active']})"
                            changes = {"status": ["awaiting", "active"]}
                        elif kind == EV_GRANT_RETURNED:
                            actor, action = self.ict[i % len(self.ict)], "grant.returned"
                            obj_repr = f"{reference} ({GRANT_STATUS_LABEL['returned']})"
                            changes = {"status": ["awaiting", "returned"]}
                        elif kind == EV_GRANT_EXPIRED:
                            label, action = "system:grant_expiry_sweep", "grant.expired"
                            obj_repr = f"{reference} ({GRANT_STATUS_LABEL['expired']})"
                            changes = {"status": ["active", "expired"]}
                        elif kind == EV_GRANT_REVOKED:
                            actor = self.admins[i % len(self.admins)]
                            action = "grant.revoked"
                            obj_repr = f"{reference} ({GRANT_STATUS_LABEL['revoked']})"
                            changes = {"status": ["active", "revoked"]}
                        else:
                            actor, action = requester, "grant.surrendered"
                            obj_repr = f"{reference} ({GRANT_STATUS_LABEL['surrendered']})"
                            changes = {"status": ["active", "surrendered"]}
                if actor is not None:
                    label = emails[actor]
                    if address is None:
                        address = f"10.1.{(actor >> 8) & 255}.{actor & 255}"
                        agent = USER_AGENTS[actor % len(USER_AGENTS)]
                    actor = user_ids[actor]
                content = {
                    "occurred_at": occurred.isoformat(),
                    "actor_id": actor,
                    "actor_label": label,
                    "action": action,
                    "object_type": obj_type,
                    "object_id": obj_id,
                    "object_repr": obj_repr,
                    "client_address": address,
                    "user_agent": agent,
                    "changes": changes,
                }
                digest = event_hash(previous_hash=previous, content=content)
                table.add_line(
                    f"{event_id + n}\t{content['occurred_at']}\t"
                    f"{actor if actor is not None else NULL}\t{label}\t{action}\t"
                    f"{obj_type}\t{obj_id}\t{obj_repr}\t"
                    f"{address if address else NULL}\t{agent}\t"
                    f"{copy_text(changes)}\t{previous}\t{digest}"
                )
                previous = digest
                if n % 10_000 == 9_999:
                    bar.update(10_000)
            table.flush()
            bar.update(len(events) % 10_000)
        AuditChainHead.objects.update_or_create(pk=1, defaults={"last_hash": previous})
        self.audit_count = len(events)

    # the outbox ---------------------------------------------------------------------------------

    def load_outbox(self) -> None:
        c = self.counts
        rnd = self.random
        outbox_id = next_id(OutboundEmail)
        table = CopyTable(
            OutboundEmail,
            "id to subject body_text body_html template dedupe_key object_type object_id status attempts last_error claimed_until next_attempt_at sent_at created_at updated_at".split(),
        )
        decided = [i for i, s in enumerate(self.case_status) if s in (S_APPROVED, S_REJECTED)]
        case_type = BusinessCase._meta.label_lower
        for n in range(c.emails):
            i = decided[rnd.randrange(len(decided))] if decided else 0
            when = ts_to_dt(max(self.case_created[i], self.now - 365 * DAY))
            reference = self.case_reference[i] or ""
            table.add(
                [
                    outbox_id + n,
                    self.user_email[self.case_requester[i]],
                    f"Your request {reference} has been decided",
                    "Your request has been decided.",
                    "",
                    "case_decided",
                    f"bench-email-{outbox_id + n}",
                    case_type,
                    str(self.case_pk[i]),
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

    def finish(self) -> None:
        for model in (
            Organisation,
            Directorate,
            BusinessUnit,
            User,
            StaffProfile,
            User.groups.through,
            BusinessCase,
            SiteIdentity,
            ApprovalRequest,
            AccessGrant,
            AccessGrant.sites.through,
            SafeUseReminder,
            AuditEvent,
            OutboundEmail,
        ):
            reset_sequence(model)


# --- the command ---------------------------------------------------------------------------


def bench_tables() -> list[str]:
    """The tables --reset empties: everything the loader writes (and what refers to it)."""
    keep = {Site._meta.db_table}
    tables = []
    for model in (
        AuditEvent,
        AuditChainHead,
        OutboundEmail,
        ApprovalRequest,
        SafeUseReminder,
        AccessGrant,
        SiteIdentity,
        BusinessCase,
        ReferenceCounter,
        StaffProfile,
        BusinessUnit,
        Directorate,
        Organisation,
        User,
    ):
        if model._meta.db_table not in keep:
            tables.append(model._meta.db_table)
    tables.append("django_session")
    return tables


def foreign_key_triggers_skip() -> None:
    """The generated rows refer only to rows generated before them: skip PostgreSQL's
    per-row foreign key triggers for this transaction when the role may (superuser)."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
    except DatabaseError:
        pass


def person_search_texts_write() -> None:
    """Each person's search text (people migration 0003). Its triggers keep it, but not
    while `foreign_key_triggers_skip` has switched triggers off for the load."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT people_person_search_refresh(id) FROM people_user")


def marker_read() -> dict | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [MARKER_TABLE])
        if cursor.fetchone()[0] is None:
            return None
        cursor.execute(f"SELECT scale, counts FROM {MARKER_TABLE} ORDER BY loaded_at DESC LIMIT 1")  # noqa: S608 - table names from the models, never input
        row = cursor.fetchone()
    if row is None:
        return None
    counts = row[1] if isinstance(row[1], dict) else json.loads(row[1])
    return {"scale": float(row[0]), "counts": counts}


class Command(BaseCommand):
    help = (
        "Loads the benchmark's department-scale data set (scale 1.0: 50,000 staff, 224,000 "
        "cases, 200,000 grants, 2,000,000 audit events) with COPY. Does nothing when the "
        "same scale is already loaded; --reset empties the portal's tables first."
    )

    def add_arguments(self, parser):
        parser.add_argument("--scale", type=float, default=1.0)
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument(
            "--keep-checks",
            action="store_true",
            help="Check foreign keys row by row while loading (slower; the tests use it)",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Empty the portal's people, cases, grants, approvals, audit and outbox tables "
            "first (TRUNCATE)",
        )

    def handle(self, *args, scale: float, seed: int, reset: bool, keep_checks: bool, **options):
        if scale <= 0:
            raise CommandError("--scale must be above 0")
        if connection.vendor != "postgresql":
            raise CommandError("load_bench_data needs PostgreSQL (set DATABASE_URL)")
        progress = options["verbosity"] > 0
        started = time.monotonic()
        loaded = marker_read()
        if not reset:
            if loaded and abs(loaded["scale"] - scale) < 1e-9:
                self.stdout.write(f"Bench data already loaded at scale {scale}: nothing to do.")
                return
            if loaded or User.objects.exists():
                raise CommandError(
                    "The database already holds data"
                    + (f" (bench data at scale {loaded['scale']})" if loaded else "")
                    + ": run with --reset to empty it first."
                )

        loader = BenchLoader(scale=scale, seed=seed, progress=progress, log=self.stdout.write)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
                if reset:
                    # Django's foreign keys are deferred: check pending ones before TRUNCATE.
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                    tables = ", ".join(f'"{t}"' for t in bench_tables())
                    cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
                cursor.execute(
                    f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} "
                    "(scale numeric NOT NULL, counts jsonb NOT NULL, "
                    "loaded_at timestamptz NOT NULL DEFAULT now())"
                )
                cursor.execute(f"DELETE FROM {MARKER_TABLE}")  # noqa: S608 - table names from the models, never input
            if not keep_checks:
                foreign_key_triggers_skip()
            indexes = secondary_indexes_drop(
                [
                    AuditEvent,
                    BusinessCase,
                    SiteIdentity,
                    ApprovalRequest,
                    AccessGrant,
                    AccessGrant.sites.through,
                    OutboundEmail,
                ]
            )
            loader.load_people()
            person_search_texts_write()
            loader.plan_cases()
            loader.load_cases()
            loader.load_audit()
            loader.load_outbox()
            loader.finish()
            indexes_build(indexes, progress)
            counts = {
                "staff": User.objects.count(),
                "directorates": Directorate.objects.count(),
                "business_cases": BusinessCase.objects.count(),
                "grants": AccessGrant.objects.count(),
                "approval_requests": ApprovalRequest.objects.count(),
                "safe_use_reminders": loader.reminder_count,
                "audit_events": loader.audit_count,
                "emails": OutboundEmail.objects.count(),
            }
            with connection.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {MARKER_TABLE} (scale, counts) VALUES (%s, %s)",  # noqa: S608 - table names from the models, never input
                    [scale, json.dumps(counts)],
                )
        self.analyze(progress)
        took = time.monotonic() - started
        summary = ", ".join(f"{value:,} {name.replace('_', ' ')}" for name, value in counts.items())
        self.stdout.write(
            self.style.SUCCESS(f"Loaded bench data at scale {scale} in {took:.0f} s: {summary}.")
        )

    def analyze(self, progress: bool) -> None:
        """Fresh statistics (and, outside a transaction, the visibility map that index-only
        scans need, as autovacuum would have set it on a live system)."""
        if progress:
            self.stderr.write("Analysing…")
        statement = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
        tables = [t for t in bench_tables() if t != "django_session"] + [
            SiteIdentity._meta.db_table,
            AccessGrant.sites.through._meta.db_table,
            User.groups.through._meta.db_table,
            PersonSearchText._meta.db_table,
        ]
        with connection.cursor() as cursor:
            for table in dict.fromkeys(tables):
                cursor.execute(f'{statement} "{table}"')
