"""The people: organisations, directorates, business units, staff with their profiles and
roles, and each directorate's director."""

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import connection

from bench.data.accounts import BENCH_PASSWORD, BENCH_USERS, EMAIL_DOMAIN, SPECIAL_USERS
from bench.data.pg_copy import CopyTable, next_id
from bench.data.state import DAY, BenchLoad, ts_to_dt
from bench.data.vocabulary import FIRST_NAMES, JOB_TITLES, LAST_NAMES
from people.models import BusinessUnit, Directorate, Organisation, Role, StaffProfile, User
from people.roles import roles_sync


def people_load(load: BenchLoad) -> None:
    c = load.counts
    rnd = load.random
    now_dt = ts_to_dt(load.now)
    password = make_password(BENCH_PASSWORD)  # hashed once, shared by every account
    roles_sync()
    groups = {role: Group.objects.get_or_create(name=role)[0].pk for role in Role.values}

    org_id = next_id(Organisation)
    dir_id = next_id(Directorate)
    unit_id = next_id(BusinessUnit)
    user_id = next_id(User)
    profile_id = next_id(StaffProfile)
    load.user_ids = [user_id + j for j in range(c.staff)]

    orgs = CopyTable(Organisation, ["id", "name", "kind", "created_at", "updated_at"])
    org_kinds = ["hq", "agency", "ndpb"]
    org_names = ["Bench Headquarters", "Bench Border Agency", "Bench Advisory Body"]
    load.org_ids = [org_id + k for k in range(c.organisations)]
    for k in range(c.organisations):
        orgs.add([org_id + k, org_names[k], org_kinds[k], now_dt, now_dt])
    orgs.flush()

    # Directorate d belongs to organisation 0 for the first 70%, then 1, then 2.
    load.dir_org = [
        0 if d < c.directorates * 0.7 else (1 if d < c.directorates * 0.88 else 2)
        for d in range(c.directorates)
    ]
    # User SPECIAL_USERS + d directs directorate d.
    load.director_of_dir = [SPECIAL_USERS + d for d in range(c.directorates)]
    load.dir_ids = [dir_id + d for d in range(c.directorates)]
    # Directors are inserted after the users (a foreign key): directorates first without.
    dirs = CopyTable(
        Directorate,
        ["id", "organisation_id", "name", "director_id", "created_at", "updated_at"],
    )
    for d in range(c.directorates):
        dirs.add(
            [
                dir_id + d,
                load.org_ids[load.dir_org[d]],
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
    load.unit_ids = [unit_id + u for u in range(c.business_units)]
    for u in range(c.business_units):
        units.add(
            [
                unit_id + u,
                load.dir_ids[u // 5],
                f"Unit {u + 1:03d}",
                f"BENCH{u + 1:05d}",
                now_dt,
                now_dt,
            ]
        )
    units.flush()

    # Who is what.
    load.user_unit = [j % c.business_units for j in range(c.staff)]
    for d in range(c.directorates):
        load.user_unit[load.director_of_dir[d]] = d * 5
    extra_admins = set(range(c.staff - 4, c.staff))
    extra_auditors = set(range(c.staff - 8, c.staff - 4))
    extra_ict = set(range(c.staff - 18, c.staff - 8))
    load.admins = [0, *sorted(extra_admins)]
    load.ict = [2, *sorted(extra_ict)]

    users = CopyTable(
        User,
        "id password last_login is_superuser first_name last_name is_staff is_active date_joined email".split(),
    )
    profiles = CopyTable(
        StaffProfile,
        "id user_id commonly_used_name job_title business_unit_id created_at updated_at".split(),
    )
    memberships = CopyTable(User.groups.through, ["user_id", "group_id"])
    load.user_email: list[str] = []
    load.user_name: list[str] = []
    named = {0: "admin", 1: "auditor", 2: "ict", 3: "staff", SPECIAL_USERS: "director"}
    with load.bar(c.staff, "staff") as bar:
        for j in range(c.staff):
            first = FIRST_NAMES[rnd.randrange(len(FIRST_NAMES))]
            last = LAST_NAMES[rnd.randrange(len(LAST_NAMES))]
            email = (
                BENCH_USERS[named[j]]
                if j in named
                else f"{first.lower()}.{last.lower()}.{j}@{EMAIL_DOMAIN}"
            )
            load.user_email.append(email)
            load.user_name.append(f"{first} {last}")
            joined = ts_to_dt(load.start - rnd.randrange(365 * DAY))
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
                    load.unit_ids[load.user_unit[j]],
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
                [load.user_ids[load.director_of_dir[d]], load.dir_ids[d]],
            )
        cursor.execute(
            f'UPDATE "{Organisation._meta.db_table}" SET fallback_approver_id = %s '  # noqa: S608 - table names from the models, never input
            "WHERE id = ANY(%s)",
            [load.user_ids[0], load.org_ids],
        )


def person_search_texts_write() -> None:
    """Each person's search text (people migration 0003). Its triggers keep it, but not
    while `foreign_key_triggers_skip` has switched triggers off for the load."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT people_person_search_refresh(id) FROM people_user")
