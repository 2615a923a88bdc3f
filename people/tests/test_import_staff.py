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


GOOD_ROW = "ok@example.gov.uk,Ok Person,Officer,Org,Dir,Unit,CC1,staff\n"


def assert_refused_without_change(path: Path, *expected: str) -> str:
    with pytest.raises(CommandError) as error:
        call_command("import_staff", str(path))
    message = str(error.value)
    assert "\n" not in message, "one line, not a traceback"
    for text in (*expected, "Nothing was changed"):
        assert text in message, message
    assert not User.objects.exists()
    assert not Organisation.objects.exists()
    assert not AuditEvent.objects.exists()
    return message


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "line"),
    [
        ((HEADER + GOOD_ROW + "x@example.gov.uk,José Núñez,Y,Org,Dir,U,CC2,staff\n"), 3),
        ((HEADER + GOOD_ROW).encode("utf-16"), 1),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xd8\xff", 1),
    ],
    ids=["latin-1", "utf-16", "binary"],
)
def test_a_file_that_is_not_utf8_is_refused_with_its_line(tmp_path, content, line):
    path = tmp_path / "staff.csv"
    path.write_bytes(content.encode("latin-1") if isinstance(content, str) else content)
    assert_refused_without_change(path, f"line {line}:", "the file is not UTF-8 text")


@pytest.mark.django_db
def test_utf16_without_its_byte_order_mark_is_refused_by_its_header(tmp_path):
    # Its ASCII letters with NUL between are valid UTF-8: the header matches no column.
    path = tmp_path / "staff.csv"
    path.write_bytes((HEADER + GOOD_ROW).encode("utf-16-le"))
    assert_refused_without_change(path, "line 1:", "the header is missing the column(s)")


@pytest.mark.django_db
def test_a_field_over_the_csv_limit_is_a_bad_row(tmp_path):
    huge = "x" * 200_000
    path = write_csv(tmp_path, GOOD_ROW + f'big@example.gov.uk,"{huge}",Y,Org,Dir,U,CC2,staff\n')
    message = assert_refused_without_change(path, "line 3:", "cannot be read as CSV")
    assert len(message) < 500


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("bad_row", "complaint"),
    [
        (
            "x@example.gov.uk,Bad\x00Name,Y,Org,Dir,U,CC2,staff\n",
            "name contains the control character U+0000",
        ),
        (
            'x@example.gov.uk,"Bad\r\nName",Y,Org,Dir,U,CC2,staff\n',
            "name contains the control character U+000D",
        ),
        (
            'x@example.gov.uk,X,"Chief\nExecutive",Org,Dir,U,CC2,staff\n',
            "job_title contains the control character U+000A",
        ),
        (
            "x@example.gov.uk,X,Y,Org,Dir,Unit\tA,CC2,staff\n",
            "business_unit contains the control character U+0009",
        ),
        (
            "x@example.gov.uk,X,Y,Org,Dir,U,CC\x1b2,staff\n",
            "cost_centre contains the control character U+001B",
        ),
        (
            "x@example.gov.uk,X,Y,Org\x7f,Dir,U,CC2,staff\n",
            "organisation contains the control character U+007F",
        ),
        (
            "x@example.gov.uk,\u202eevil\u202c,Y,Org,Dir,U,CC2,staff\n",
            "name contains the control character U+202E",
        ),
        (
            "x@example.gov.uk,X,Y,Org,\u2067Dir,U,CC2,staff\n",
            "directorate contains the control character U+2067",
        ),
    ],
    ids=["NUL", "CR LF", "LF", "tab", "escape", "delete", "RLO", "RLI"],
)
def test_control_and_direction_characters_are_refused(tmp_path, bad_row, complaint):
    path = write_csv(tmp_path, GOOD_ROW + bad_row)
    # A row with a line break inside a quoted field is named by the line it ends on.
    line = 3 + bad_row.count("\n") - 1
    assert_refused_without_change(path, f"line {line}:", complaint)


@pytest.mark.django_db
def test_names_in_any_script_import(tmp_path, capsys):
    path = write_csv(
        tmp_path,
        GOOD_ROW + "r@example.gov.uk,רות כהן,Y,Org,Dir,U,CC2,staff\n"
        "a@example.gov.uk,José Núñez-Ōtsuka,Y,Org,Dir,U,CC2,staff\n",
    )
    call_command("import_staff", str(path))
    assert "3 created" in capsys.readouterr().out
