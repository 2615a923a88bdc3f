"""One search text per person (`PersonSearchText`): email and commonly used name, kept by
PostgreSQL triggers whenever either changes, with one trigram index, so that the register's
holder search is one indexed query instead of one per table. Skipped on SQLite (the demo
database), where the search reads the two tables."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# `people_person_search_refresh(person, may_insert)`: the person's text from the tables as
# they are now, in capitals (searched with `LIKE UPPER(…)`: no UPPER() of every candidate
# row when the index's matches are checked). A profile's deletion only updates (may_insert false): when Django deletes a
# user, it deletes their search text and their profile in no set order, and a row put back
# by the profile's trigger would refer to the deleted user.
CREATE_SQL = r"""
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE INDEX person_search_text_trgm_idx ON people_personsearchtext
    USING gin ("text" gin_trgm_ops);

CREATE FUNCTION people_person_search_refresh(person bigint, may_insert boolean DEFAULT true)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    found_text text;
BEGIN
    SELECT UPPER(concat_ws(E'\n', u.email, p.commonly_used_name)) INTO found_text
    FROM people_user u LEFT JOIN people_staffprofile p ON p.user_id = u.id
    WHERE u.id = person;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF may_insert THEN
        INSERT INTO people_personsearchtext (user_id, text) VALUES (person, found_text)
        ON CONFLICT (user_id) DO UPDATE SET text = EXCLUDED.text;
    ELSE
        UPDATE people_personsearchtext SET text = found_text WHERE user_id = person;
    END IF;
END $$;

CREATE FUNCTION people_person_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'people_user' THEN
        PERFORM people_person_search_refresh(NEW.id);
    ELSE
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            PERFORM people_person_search_refresh(OLD.user_id, false);
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            PERFORM people_person_search_refresh(NEW.user_id);
        END IF;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER people_user_search_insert AFTER INSERT ON people_user
    FOR EACH ROW EXECUTE FUNCTION people_person_search_sync();
CREATE TRIGGER people_user_search_update AFTER UPDATE OF email ON people_user
    FOR EACH ROW WHEN (OLD.email IS DISTINCT FROM NEW.email)
    EXECUTE FUNCTION people_person_search_sync();
CREATE TRIGGER people_profile_search_insert_delete AFTER INSERT OR DELETE ON people_staffprofile
    FOR EACH ROW EXECUTE FUNCTION people_person_search_sync();
CREATE TRIGGER people_profile_search_update
    AFTER UPDATE OF commonly_used_name, user_id ON people_staffprofile
    FOR EACH ROW WHEN (OLD.commonly_used_name IS DISTINCT FROM NEW.commonly_used_name
                       OR OLD.user_id IS DISTINCT FROM NEW.user_id)
    EXECUTE FUNCTION people_person_search_sync();

SELECT people_person_search_refresh(id) FROM people_user;
"""

DROP_SQL = """
DROP TRIGGER IF EXISTS people_profile_search_update ON people_staffprofile;
DROP TRIGGER IF EXISTS people_profile_search_insert_delete ON people_staffprofile;
DROP TRIGGER IF EXISTS people_user_search_update ON people_user;
DROP TRIGGER IF EXISTS people_user_search_insert ON people_user;
DROP FUNCTION IF EXISTS people_person_search_sync();
DROP FUNCTION IF EXISTS people_person_search_refresh(bigint, boolean);
DROP INDEX IF EXISTS person_search_text_trgm_idx;
"""


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE_SQL)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL)


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0002_search_trigram_indexes"),
    ]

    operations = [
        migrations.CreateModel(
            name="PersonSearchText",
            fields=[
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="search_text",
                        serialize=False,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                ("text", models.TextField()),
            ],
            options={
                "verbose_name": "search text",
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers, elidable=False),
    ]
