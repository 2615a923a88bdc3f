from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from people.models import BusinessUnit, Directorate, Organisation, Role, User

DEMO_CSV = Path(__file__).resolve().parents[2] / "demo" / "staff.csv"
HEADER = "email,name,job_title,organisation,directorate,business_unit,cost_centre,role\n"


def write_csv(tmp_path, rows: str) -> Path:
    path = tmp_path / "staff.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    return path


@pytest.mark.django_db
def test_import_creates_the_organisation_people_and_roles(capsys):
    call_command("import_staff", str(DEMO_CSV))
    out = capsys.readouterr().out
    assert "8 created, 0 updated, 0 unchanged" in out
    comms = Directorate.objects.get(name="Communications Directorate")
    assert comms.director.email == "dana.director@example.gov.uk"
    assert comms.organisation.name == "Home Office HQ"
    sam = User.objects.get(email="sam.staff@example.gov.uk")
    assert sam.profile.commonly_used_name == "Sam Taylor"
    assert sam.profile.job_title == "Digital Engagement Officer"
    assert sam.profile.business_unit.cost_centre == "CC1001"
    assert [g.name for g in sam.groups.all()] == [Role.STAFF]
    admin = User.objects.get(email="ada.admin@example.gov.uk")
    assert admin.is_staff and admin.has_role(Role.ADMIN)
    assert AuditEvent.objects.filter(action="people.staff_created").count() == 8


@pytest.mark.django_db
def test_reimport_of_the_same_file_changes_nothing(capsys):
    call_command("import_staff", str(DEMO_CSV))
    events = AuditEvent.objects.count()
    call_command("import_staff", str(DEMO_CSV))
    assert "0 created, 0 updated, 8 unchanged" in capsys.readouterr().out
    assert User.objects.count() == 8
    # Only the import's own summary event is added.
    assert AuditEvent.objects.count() == events + 1


@pytest.mark.django_db
def test_import_updates_a_changed_person(tmp_path, capsys):
    call_command("import_staff", str(DEMO_CSV))
    changed = DEMO_CSV.read_text().replace(
        "Sam Taylor,Digital Engagement Officer", "Samantha Taylor,Head of Digital"
    )
    path = tmp_path / "changed.csv"
    path.write_text(changed)
    call_command("import_staff", str(path))
    assert "0 created, 1 updated, 7 unchanged" in capsys.readouterr().out
    profile = User.objects.get(email="sam.staff@example.gov.uk").profile
    assert (profile.commonly_used_name, profile.job_title) == ("Samantha Taylor", "Head of Digital")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        ("not-an-email,X,Y,Org,Dir,Unit,CC9,staff\n", "is not an email address"),
        ("x@example.gov.uk,X,Y,Org,Dir,Unit,CC9,wizard\n", "role 'wizard' is not one of"),
        ("x@example.gov.uk,,Y,Org,Dir,Unit,CC9,staff\n", "name is empty"),
        ("ok@example.gov.uk,X,Y,Org,Dir,Unit,CC1,staff\n", "appears twice"),
        ("y@example.gov.uk,X,Y,Org,Dir,Other unit,CC1,staff\n", "cost centre CC1 already belongs"),
    ],
)
def test_a_bad_row_stops_the_import_with_its_line_and_changes_nothing(tmp_path, bad_row, message):
    good = "ok@example.gov.uk,Ok Person,Officer,Org,Dir,Unit,CC1,staff\n"
    path = write_csv(tmp_path, good + bad_row)
    with pytest.raises(CommandError) as error:
        call_command("import_staff", str(path))
    assert "line 3" in str(error.value)
    assert message in str(error.value)
    assert "Nothing was changed" in str(error.value)
    assert not User.objects.exists()
    assert not Organisation.objects.exists()
    assert not BusinessUnit.objects.exists()


@pytest.mark.django_db
def test_a_file_without_the_right_columns_is_refused(tmp_path):
    path = tmp_path / "staff.csv"
    path.write_text("email,name\nx@example.gov.uk,X\n")
    with pytest.raises(CommandError, match="line 1: the header is missing"):
        call_command("import_staff", str(path))


@pytest.mark.django_db
def test_a_spreadsheet_export_with_spaced_headers_and_extra_columns_imports(tmp_path, capsys):
    # A directory saved from Excel: byte-order mark, CRLF line ends, "Job Title" for
    # job_title, upper-case values and a column the portal does not use.
    path = tmp_path / "export.csv"
    path.write_bytes(
        "\ufeffEmail,Name,Job Title,Organisation,Directorate,Business Unit,Cost-Centre,ROLE,Phone\r\n"
        "Jane.Doe@Dept.gov.uk,Jane Doe,Analyst,Dept,Data,Data Team,DT01,Staff,0123\r\n".encode()
    )
    call_command("import_staff", str(path))
    assert "1 created" in capsys.readouterr().out
    jane = User.objects.get(email="jane.doe@dept.gov.uk")
    assert (jane.profile.job_title, jane.profile.business_unit.cost_centre) == ("Analyst", "DT01")
    assert jane.has_role(Role.STAFF)
