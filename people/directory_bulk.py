"""Joiners in bulk: tens of thousands of users, profiles and roles from a directory file in
a few statements (`joiners_insert` on PostgreSQL, `joiners_insert_orm` elsewhere)."""

from django.db import connection

from core.models import column_fields

from .models import StaffProfile, User
from .roles import ADMIN_SITE_ROLES
from .staff_csv import StaffRow


def joiners_insert(batch: list[StaffRow], unit_ids, groups, password: str) -> dict[str, int]:
    """The batch's users, profiles and roles in one statement (PostgreSQL): the rows go in
    as one array a column, so the statement's size and Python's work do not grow with a
    model instance a row, and the search text's statement triggers (people migration 0006)
    see each person whole. Columns the file does not give take the models' defaults, worked
    out once. Returns the new ids by email."""
    user = User(password=password, is_active=True)
    profile = StaffProfile()
    user_columns, user_values = _constant_columns(User, user, varying={"email", "is_staff"})
    profile_columns, profile_values = _constant_columns(
        StaffProfile, profile, varying={"user", "commonly_used_name", "job_title", "business_unit"}
    )
    quote = connection.ops.quote_name
    membership = User.groups.through._meta
    sql = f"""
        WITH file_rows AS (
            SELECT * FROM unnest(%s::text[], %s::boolean[], %s::text[], %s::text[],
                                 %s::bigint[], %s::bigint[])
                AS r(email, is_staff, name, job_title, unit_id, group_id)
        ), users AS (
            INSERT INTO {quote(User._meta.db_table)}
                ({", ".join(map(quote, [*user_columns, "email", "is_staff"]))})
            SELECT {", ".join(["%s"] * len(user_values))}, r.email, r.is_staff FROM file_rows r
            RETURNING id, email
        ), profiles AS (
            INSERT INTO {quote(StaffProfile._meta.db_table)}
                ({", ".join(map(quote, profile_columns))},
                 user_id, commonly_used_name, job_title, business_unit_id)
            SELECT {", ".join(["%s"] * len(profile_values))}, u.id, r.name, r.job_title, r.unit_id
            FROM users u JOIN file_rows r ON r.email = u.email
        ), roles AS (
            INSERT INTO {quote(membership.db_table)}
                ({quote(membership.get_field("user").column)},
                 {quote(membership.get_field("group").column)})
            SELECT u.id, r.group_id FROM users u JOIN file_rows r ON r.email = u.email
        )
        SELECT id, email FROM users
    """  # noqa: S608  # nosec B608 - names from the models, values are parameters
    params = [
        [row.email for row in batch],
        [row.role in ADMIN_SITE_ROLES for row in batch],
        [row.name for row in batch],
        [row.job_title for row in batch],
        [unit_ids[row.cost_centre] for row in batch],
        [groups[row.role].pk for row in batch],
        *user_values,
        *profile_values,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {email: pk for pk, email in cursor.fetchall()}


def _constant_columns(model, instance, *, varying: set[str]) -> tuple[list[str], list]:
    """The columns of `model` other than its primary key and the `varying` fields, with the
    value each takes for `instance` as a save would write it (defaults, `auto_now`)."""
    columns, values = [], []
    for model_field in column_fields(model):
        if model_field.primary_key or model_field.name in varying:
            continue
        columns.append(model_field.column)
        values.append(
            model_field.get_db_prep_save(model_field.pre_save(instance, add=True), connection)
        )
    return columns, values


def joiners_insert_orm(batch: list[StaffRow], unit_ids, groups, password: str) -> dict[str, int]:
    """`joiners_insert` through the ORM, for SQLite (the demo database)."""
    users = User.objects.bulk_create(
        [
            User(email=row.email, password=password, is_staff=row.role in ADMIN_SITE_ROLES)
            for row in batch
        ]
    )
    StaffProfile.objects.bulk_create(
        [
            StaffProfile(
                user_id=user.pk,
                commonly_used_name=row.name,
                job_title=row.job_title,
                business_unit_id=unit_ids[row.cost_centre],
            )
            for user, row in zip(users, batch, strict=True)
        ]
    )
    User.groups.through.objects.bulk_create(
        [
            User.groups.through(user_id=user.pk, group_id=groups[row.role].pk)
            for user, row in zip(users, batch, strict=True)
        ]
    )
    return {user.email: user.pk for user in users}
