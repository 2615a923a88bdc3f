"""The privileges of the runtime database login (docs/threat-model.md, README).

Production runs two PostgreSQL logins: the migration login owns every table (it runs
`migrate`, and only an owner may alter a table or switch its triggers off), and the runtime
login the web processes and workers use owns nothing. The runtime login may read and write
the portal's tables, but on the audit trail only read and append: SELECT and INSERT on the
events, and UPDATE of their client address and browser alone, for the retention sweep
(the trigger of audit migration 0008 lets it only empty them, on old events whose hash
covers their digest); on the chain head SELECT, INSERT (the first append creates it) and UPDATE of the
columns the append path moves, which the head's trigger lets move only forward to the
newest event. It has no TRUNCATE anywhere, and reads but does not write Django's record of
applied migrations.
"""

from django.db import connection

from .models import AuditChainHead, AuditEvent, AuditPendingEvent

READ_ONLY_TABLES = {"django_migrations"}


def runtime_grants(*, role: str) -> list[str]:
    """The statements, run by the migration login after each `migrate`, that give `role`
    what the running portal needs and no more."""
    quote = connection.ops.quote_name
    who = quote(role)
    events = AuditEvent._meta.db_table
    head = AuditChainHead._meta.db_table
    head_columns = ", ".join(
        quote(AuditChainHead._meta.get_field(name).column)
        for name in ("last_hash", "last_id", "updated_at")
    )
    client_columns = ", ".join(
        quote(AuditEvent._meta.get_field(name).column) for name in ("client_address", "user_agent")
    )
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
    statements = [f"GRANT USAGE ON SCHEMA public TO {who}"]
    for table in tables:
        statements.append(f"REVOKE ALL ON {quote(table)} FROM {who}")
        if table == events:
            statements.append(f"GRANT SELECT, INSERT ON {quote(table)} TO {who}")
            statements.append(f"GRANT UPDATE ({client_columns}) ON {quote(table)} TO {who}")
        elif table == head:
            statements.append(f"GRANT SELECT, INSERT ON {quote(table)} TO {who}")
            statements.append(f"GRANT UPDATE ({head_columns}) ON {quote(table)} TO {who}")
        elif table == AuditPendingEvent._meta.db_table:
            # Written, then deleted by the sequencer as it chains them: never edited.
            statements.append(f"GRANT SELECT, INSERT, DELETE ON {quote(table)} TO {who}")
        elif table in READ_ONLY_TABLES:
            statements.append(f"GRANT SELECT ON {quote(table)} TO {who}")
        else:
            statements.append(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {quote(table)} TO {who}")
    statements.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {who}")
    return statements


def runtime_grants_apply(*, role: str) -> int:
    """Run `runtime_grants` on this connection (as the migration login); returns how many
    statements ran."""
    statements = runtime_grants(role=role)
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    return len(statements)
