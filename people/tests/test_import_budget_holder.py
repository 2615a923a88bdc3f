"""The staff directory's optional `budget_holder` column names each unit's budget holder."""

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from people.models import BusinessUnit

HEADER = (
    "email,name,job_title,organisation,directorate,business_unit,cost_centre,role,budget_holder\n"
)
ROWS = (
    "dana@example.gov.uk,Dana,Director,HQ,Comms,Digital,CC1,director,no\n"
    "bea@example.gov.uk,Bea,Head of finance,HQ,Comms,Digital,CC1,staff,yes\n"
    "sam@example.gov.uk,Sam,Officer,HQ,Comms,Press,CC2,staff,\n"
)

pytestmark = pytest.mark.django_db


def write(tmp_path, rows):
    path = tmp_path / "staff.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    return str(path)


def test_the_person_marked_yes_becomes_their_units_budget_holder(tmp_path):
    call_command("import_staff", write(tmp_path, ROWS))

    assert BusinessUnit.objects.get(cost_centre="CC1").budget_holder.email == "bea@example.gov.uk"
    assert BusinessUnit.objects.get(cost_centre="CC2").budget_holder is None
    event = AuditEvent.objects.get(action="people.budget_holder_changed")
    assert event.changes == {"budget_holder": [None, "bea@example.gov.uk"]}


def test_two_budget_holders_for_one_unit_stop_the_import_at_the_second_line(tmp_path):
    rows = ROWS + "kit@example.gov.uk,Kit,Officer,HQ,Comms,Digital,CC1,staff,Yes\n"

    with pytest.raises(CommandError, match="line 5: Digital already has a budget holder.*line 3"):
        call_command("import_staff", write(tmp_path, rows))

    assert not BusinessUnit.objects.exists()


def test_a_value_that_is_not_yes_or_no_is_refused_with_its_line(tmp_path):
    rows = ROWS + "kit@example.gov.uk,Kit,Officer,HQ,Comms,Digital,CC1,staff,maybe\n"

    with pytest.raises(CommandError, match="line 5: budget_holder 'maybe' is not yes or no"):
        call_command("import_staff", write(tmp_path, rows))


def test_a_file_without_the_column_keeps_each_units_budget_holder(tmp_path):
    call_command("import_staff", write(tmp_path, ROWS))
    path = tmp_path / "again.csv"
    lines = [line.rsplit(",", 1)[0] for line in (HEADER + ROWS).splitlines()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    call_command("import_staff", str(path))

    assert BusinessUnit.objects.get(cost_centre="CC1").budget_holder.email == "bea@example.gov.uk"
