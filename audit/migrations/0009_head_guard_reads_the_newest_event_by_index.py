"""The chain head's guard reads the newest event in a way every plan serves from the primary
key's index.

The guard of 0007 asked `EXISTS (SELECT 1 … WHERE id > NEW.last_id)`. After a few calls
PL/pgSQL plans such a statement once for any value (a generic plan), and for an EXISTS over
`id > $1` that plan is a sequential scan, which reads the whole trail when no newer event
exists, as on every legitimate move: each append waited on a read of every event. The
newest event is now found with `ORDER BY id DESC LIMIT 1` (no parameter, always the index's
last entry), and the first event after the old head with `ORDER BY id LIMIT 1`.
"""

from django.db import migrations

GUARD = """
CREATE OR REPLACE FUNCTION audit_chain_head_guard() RETURNS trigger AS $$
DECLARE
    old_last_id bigint := 0;
    old_last_hash varchar := repeat('0', 64);  -- the genesis hash (audit.services)
    newest_id bigint;
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
    SELECT id, hash INTO newest_id, newest_hash FROM audit_auditevent ORDER BY id DESC LIMIT 1;
    IF TG_OP = 'INSERT' AND NEW.last_id = 0 AND NEW.last_hash = old_last_hash
            AND newest_id IS NULL THEN
        RETURN NEW;
    END IF;
    IF NEW.last_id <= old_last_id THEN
        RAISE EXCEPTION 'the audit chain head moves only forward'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF newest_id IS DISTINCT FROM NEW.last_id OR newest_hash IS DISTINCT FROM NEW.last_hash THEN
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
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GUARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0008_client_digest")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
