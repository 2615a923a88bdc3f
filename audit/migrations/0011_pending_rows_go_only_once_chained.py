"""A pending audit event (audit/sequencer.py) may be deleted only once an event in the chain
names it: the runtime login, which may delete pending rows so that the sequencer can clear
them, cannot make an event vanish between its commit and its chaining. SQLite (the demo)
never leaves events pending."""

from django.db import migrations, models

POSTGRESQL_FORWARDS = [
    """CREATE FUNCTION audit_pending_delete_only_once_chained() RETURNS trigger AS $$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM audit_auditevent WHERE pending_id = OLD.id) THEN
            RAISE EXCEPTION 'a pending audit event is removed only once it is chained (id %)',
                OLD.id USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN OLD;
    END;
    $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER audit_pending_delete_only_once_chained
    BEFORE DELETE ON audit_auditpendingevent
    FOR EACH ROW EXECUTE FUNCTION audit_pending_delete_only_once_chained()""",
]
POSTGRESQL_BACKWARDS = [
    "DROP TRIGGER IF EXISTS audit_pending_delete_only_once_chained ON audit_auditpendingevent",
    "DROP FUNCTION IF EXISTS audit_pending_delete_only_once_chained()",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("audit", "0010_pending_events")]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="pending_id",
            field=models.BigIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                condition=models.Q(pending_id__isnull=False),
                fields=["pending_id"],
                name="audit_pending_idx",
            ),
        ),
        migrations.RunPython(_run({"postgresql": POSTGRESQL_FORWARDS}), _run({"postgresql": POSTGRESQL_BACKWARDS})),
    ]
