"""The client address and browser can be cleared after the retention period, and nothing else.

Each event gets `client_digest`: an HMAC, keyed with `AUDIT_CHAIN_KEY`, of its client
address and browser. The chain's hash covers the digest instead of the two fields, so the
retention sweep (`audit.retention`) can empty them and the chain still verifies, while
`verify_audit` still catches an address or browser rewritten to anything else (it no
longer matches the digest).

The append-only trigger of 0004 is narrowed to allow exactly that UPDATE: `client_address`
set to NULL and `user_agent` to '' on an event that carries a digest and is more than 30
days old (by the database's clock), with every other column unchanged. Every other UPDATE,
and every DELETE, is still refused. The 30 days is a floor, not the retention period
(`SNS_RETENTION_CLIENT_DAYS`, which settings refuse below it): the database does not trust
the application for the period, so someone holding the runtime login cannot clear where a
recent event came from.

Events written before this migration have no digest (NULL) and keep their hash over the
two fields: a migration has no key to compute digests with, and recomputing the hashes
would rewrite the chain. Verification hashes them in their old shape; the trigger and the
sweep never clear them (docs/privacy.md, docs/threat-model.md).
"""

from django.db import migrations, models

CLIENT_FIELDS_MIN_AGE_DAYS = 30

POSTGRESQL_FORWARDS = f"""
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
            AND OLD.client_digest IS NOT NULL AND OLD.client_digest <> ''
            AND OLD.occurred_at < statement_timestamp() - interval '{CLIENT_FIELDS_MIN_AGE_DAYS} days'
            AND NEW.client_address IS NULL AND NEW.user_agent = ''
            AND (to_jsonb(NEW) - 'client_address' - 'user_agent')
                = (to_jsonb(OLD) - 'client_address' - 'user_agent') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit events are append-only: % refused on audit_auditevent', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""
# 0004's function, for going back.
POSTGRESQL_BACKWARDS = """
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: % refused on audit_auditevent', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""
UNCHANGED = " AND ".join(
    f"NEW.{column} IS OLD.{column}"
    for column in (
        "id",
        "occurred_at",
        "actor_id",
        "actor_label",
        "action",
        "object_type",
        "object_id",
        "object_repr",
        "changes",
        "previous_hash",
        "hash",
        "client_digest",
    )
)
SQLITE_FORWARDS = [
    "DROP TRIGGER IF EXISTS audit_event_no_update",
    f"""CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_auditevent
       WHEN NOT (
           OLD.client_digest IS NOT NULL AND OLD.client_digest <> ''
           AND OLD.occurred_at < datetime('now', '-{CLIENT_FIELDS_MIN_AGE_DAYS} days')
           AND NEW.client_address IS NULL AND NEW.user_agent = ''
           AND {UNCHANGED}
       )
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only: UPDATE refused'); END""",
]
SQLITE_BACKWARDS = [
    "DROP TRIGGER IF EXISTS audit_event_no_update",
    """CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only: UPDATE refused'); END""",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        statements = statements_by_vendor.get(schema_editor.connection.vendor, [])
        if isinstance(statements, str):
            statements = [statements]
        for statement in statements:
            schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("audit", "0007_chain_head_guarded")]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="client_digest",
            field=models.CharField(blank=True, max_length=64, null=True),
        ),
        migrations.RunPython(
            _run({"postgresql": POSTGRESQL_FORWARDS, "sqlite": SQLITE_FORWARDS}),
            _run({"postgresql": POSTGRESQL_BACKWARDS, "sqlite": SQLITE_BACKWARDS}),
        ),
    ]
