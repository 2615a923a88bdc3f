"""A person's search text is written once per INSERT statement, not once per row: a bulk
insert of people or profiles (the staff directory import creates tens of thousands) writes
every new person's text in one set-based upsert from the statement's new rows (a
transition table), where a row trigger called a PL/pgSQL function and an upsert per row
(most of the import's time). Updates and deletions keep their row triggers (migration
0003): they fire only when the email or name really changes. Skipped on SQLite."""

from django.db import migrations

# `people_person_search_insert_rows()`: the texts of the people whose user or profile the
# statement inserted (its `inserted` rows), from the tables as they are now; a text that is
# already right is left alone (no new row version, no new trigram index entries), so a
# statement inserting users and their profiles together writes each text once.
CREATE_SQL = r"""
CREATE FUNCTION people_person_search_insert_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'people_user' THEN
        INSERT INTO people_personsearchtext (user_id, text)
        SELECT u.id, UPPER(concat_ws(E'\n', u.email, p.commonly_used_name))
        FROM inserted n
        JOIN people_user u ON u.id = n.id
        LEFT JOIN people_staffprofile p ON p.user_id = u.id
        ON CONFLICT (user_id) DO UPDATE SET text = EXCLUDED.text
            WHERE people_personsearchtext.text IS DISTINCT FROM EXCLUDED.text;
    ELSE
        INSERT INTO people_personsearchtext (user_id, text)
        SELECT u.id, UPPER(concat_ws(E'\n', u.email, p.commonly_used_name))
        FROM inserted n
        JOIN people_user u ON u.id = n.user_id
        LEFT JOIN people_staffprofile p ON p.user_id = u.id
        ON CONFLICT (user_id) DO UPDATE SET text = EXCLUDED.text
            WHERE people_personsearchtext.text IS DISTINCT FROM EXCLUDED.text;
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER people_user_search_insert ON people_user;
DROP TRIGGER people_profile_search_insert_delete ON people_staffprofile;

CREATE TRIGGER people_user_search_insert AFTER INSERT ON people_user
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION people_person_search_insert_rows();
CREATE TRIGGER people_profile_search_insert AFTER INSERT ON people_staffprofile
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION people_person_search_insert_rows();
CREATE TRIGGER people_profile_search_delete AFTER DELETE ON people_staffprofile
    FOR EACH ROW EXECUTE FUNCTION people_person_search_sync();
"""

DROP_SQL = """
DROP TRIGGER people_profile_search_delete ON people_staffprofile;
DROP TRIGGER people_profile_search_insert ON people_staffprofile;
DROP TRIGGER people_user_search_insert ON people_user;
DROP FUNCTION people_person_search_insert_rows();

CREATE TRIGGER people_user_search_insert AFTER INSERT ON people_user
    FOR EACH ROW EXECUTE FUNCTION people_person_search_sync();
CREATE TRIGGER people_profile_search_insert_delete AFTER INSERT OR DELETE ON people_staffprofile
    FOR EACH ROW EXECUTE FUNCTION people_person_search_sync();
"""


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE_SQL)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL)


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0006_business_unit_budget_holder"),
    ]

    operations = [
        migrations.RunPython(create_triggers, drop_triggers, elidable=False),
    ]
