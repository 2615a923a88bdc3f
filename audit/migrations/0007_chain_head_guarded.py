"""The database refuses TRUNCATE of the trail and guards the chain head.

- TRUNCATE of `audit_auditevent` or `audit_auditchainhead` is refused by a statement
  trigger (the UPDATE/DELETE trigger of 0004 does not fire on TRUNCATE).
- The head row names the newest event (`last_id`) and its hash. It cannot be deleted, and
  it moves only forward: to the newest event in the table, with that event's hash, along a
  chain that starts from the old head (the first event after the old head names the old
  head's hash as its previous hash). That is the only move `audit.services` makes.

The table owner (the migration login, docs/threat-model.md) can still switch these
triggers off; the runtime login cannot (it owns nothing), and its privileges leave it
INSERT and SELECT on the events (`manage.py grant_runtime_login`). What an owner does with
the triggers off shows in `verify_audit`: an edit breaks the keyed chain, a removed tail
disagrees with the signed checkpoints kept outside the database.

Test databases keep the TRUNCATE triggers switched off (the root conftest): pytest-django
empties tables between transactional tests with TRUNCATE.
"""

from django.db import migrations, models

POSTGRESQL_FORWARDS = [
    """
CREATE OR REPLACE FUNCTION audit_refuse_truncate() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: TRUNCATE refused on %', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
""",
    "DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_auditevent",
    """CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_auditevent
       FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_truncate()""",
    "DROP TRIGGER IF EXISTS audit_chain_head_no_truncate ON audit_auditchainhead",
    """CREATE TRIGGER audit_chain_head_no_truncate BEFORE TRUNCATE ON audit_auditchainhead
       FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_truncate()""",
    """
CREATE OR REPLACE FUNCTION audit_chain_head_guard() RETURNS trigger AS $$
DECLARE
    old_last_id bigint := 0;
    old_last_hash varchar := repeat('0', 64);  -- the genesis hash (audit.services)
    newest_hash varchar;
    first_previous varchar;
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'the audit chain head cannot be deleted'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.id <> 1 THEN
        RAISE EXCEPTION 'the audit chain has one head, with id 1'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF OLD.id <> 1 THEN
            RAISE EXCEPTION 'the audit chain has one head, with id 1'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF NEW.last_id = OLD.last_id AND NEW.last_hash = OLD.last_hash THEN
            RETURN NEW;
        END IF;
        old_last_id := OLD.last_id;
        old_last_hash := OLD.last_hash;
    END IF;
    IF TG_OP = 'INSERT' AND NEW.last_id = 0 AND NEW.last_hash = old_last_hash
            AND NOT EXISTS (SELECT 1 FROM audit_auditevent) THEN
        RETURN NEW;
    END IF;
    IF NEW.last_id <= old_last_id THEN
        RAISE EXCEPTION 'the audit chain head moves only forward'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT hash INTO newest_hash FROM audit_auditevent WHERE id = NEW.last_id;
    IF newest_hash IS DISTINCT FROM NEW.last_hash
            OR EXISTS (SELECT 1 FROM audit_auditevent WHERE id > NEW.last_id) THEN
        RAISE EXCEPTION 'the audit chain head must name the newest event and its hash'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT previous_hash INTO first_previous FROM audit_auditevent
        WHERE id > old_last_id ORDER BY id LIMIT 1;
    IF first_previous IS DISTINCT FROM old_last_hash THEN
        RAISE EXCEPTION 'the events after the audit chain head must chain onto it'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql
""",
    "DROP TRIGGER IF EXISTS audit_chain_head_guard ON audit_auditchainhead",
    """CREATE TRIGGER audit_chain_head_guard
       BEFORE INSERT OR UPDATE OR DELETE ON audit_auditchainhead
       FOR EACH ROW EXECUTE FUNCTION audit_chain_head_guard()""",
]
POSTGRESQL_BACKWARDS = [
    "DROP TRIGGER IF EXISTS audit_chain_head_guard ON audit_auditchainhead",
    "DROP FUNCTION IF EXISTS audit_chain_head_guard()",
    "DROP TRIGGER IF EXISTS audit_chain_head_no_truncate ON audit_auditchainhead",
    "DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_auditevent",
    "DROP FUNCTION IF EXISTS audit_refuse_truncate()",
]
# SQLite (the demo) has no TRUNCATE; its DELETE trigger (0004) covers `DELETE FROM`.
SQLITE_FORWARDS = [
    """CREATE TRIGGER IF NOT EXISTS audit_chain_head_no_delete
       BEFORE DELETE ON audit_auditchainhead
       BEGIN SELECT RAISE(ABORT, 'the audit chain head cannot be deleted'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_chain_head_forward_only
       BEFORE UPDATE ON audit_auditchainhead
       WHEN NOT (
           NEW.id = 1 AND OLD.id = 1 AND (
               (NEW.last_id = OLD.last_id AND NEW.last_hash = OLD.last_hash)
               OR (
                   NEW.last_id > OLD.last_id
                   AND NEW.last_hash IS (SELECT hash FROM audit_auditevent WHERE id = NEW.last_id)
                   AND NOT EXISTS (SELECT 1 FROM audit_auditevent WHERE id > NEW.last_id)
                   AND OLD.last_hash IS (
                       SELECT previous_hash FROM audit_auditevent
                       WHERE id > OLD.last_id ORDER BY id LIMIT 1
                   )
               )
           )
       )
       BEGIN SELECT RAISE(ABORT, 'the audit chain head moves only forward, to the newest event'); END""",
]
SQLITE_BACKWARDS = [
    "DROP TRIGGER IF EXISTS audit_chain_head_no_delete",
    "DROP TRIGGER IF EXISTS audit_chain_head_forward_only",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement, params=None)

    return run


def head_names_its_newest_event(apps, schema_editor):
    """The head of an existing trail names its newest event; a trail without a head gets one
    (verification reports a head that disagrees with the events)."""
    AuditEvent = apps.get_model("audit", "AuditEvent")
    AuditChainHead = apps.get_model("audit", "AuditChainHead")
    newest = AuditEvent.objects.order_by("-id").values("id", "hash").first()
    head = AuditChainHead.objects.filter(pk=1).first()
    if newest is None:
        return
    if head is None:
        AuditChainHead.objects.create(pk=1, last_hash=newest["hash"], last_id=newest["id"])
    else:
        AuditChainHead.objects.filter(pk=1).update(last_id=newest["id"])


class Migration(migrations.Migration):
    dependencies = [("audit", "0006_hash_not_unique")]

    operations = [
        migrations.AddField(
            model_name="auditchainhead",
            name="last_id",
            field=models.BigIntegerField(default=0),
        ),
        migrations.RunPython(head_names_its_newest_event, migrations.RunPython.noop),
        migrations.RunPython(
            _run({"postgresql": POSTGRESQL_FORWARDS, "sqlite": SQLITE_FORWARDS}),
            _run({"postgresql": POSTGRESQL_BACKWARDS, "sqlite": SQLITE_BACKWARDS}),
        ),
    ]
