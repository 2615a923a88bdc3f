"""The benchmark's staff directory file imports as a department's would, and the report
shows the import's two runs against their targets."""

import pytest
from django.core.management import call_command

from bench.directory_import import staff_file_write
from bench.report import import_lines
from people.models import BusinessUnit, Directorate, Organisation, Role, User


@pytest.mark.django_db
def test_the_generated_directory_imports_with_a_director_for_each_directorate(tmp_path):
    path = tmp_path / "staff.csv"
    staff_file_write(path, 300)

    call_command("import_staff", str(path), "--full", verbosity=0)

    assert User.objects.count() == 300
    assert Organisation.objects.count() == 3
    assert Directorate.objects.count() == 12
    assert BusinessUnit.objects.count() == 60
    assert not Directorate.objects.filter(director__isnull=True).exists()
    roles = {role: User.objects.filter(groups__name=role).count() for role in Role.values}
    assert roles == {"director": 12, "admin": 4, "auditor": 4, "ict": 10, "staff": 270, "deputy": 0}


def test_the_same_arguments_write_the_same_file(tmp_path):
    staff_file_write(tmp_path / "a.csv", 100)
    staff_file_write(tmp_path / "b.csv", 100)

    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_the_report_shows_both_runs_against_their_targets():
    run = {
        "label": "Staff directory import",
        "state": "measured",
        "people": 50_000,
        "create_seconds": 41.2,
        "create_target_seconds": 60.0,
        "create_load_average_before": 3.5,
        "create_python_cpu_seconds": 4.21,
        "create_postgresql_cpu_seconds": 7.04,
        "create_verdict": "met",
        "reimport_seconds": 16.0,
        "reimport_target_seconds": 15.0,
        "reimport_load_average_before": 3.9,
        "reimport_python_cpu_seconds": 1.8,
        "reimport_postgresql_cpu_seconds": None,
        "reimport_verdict": "MISSED: > 15 s",
        "audit_staff_created": 50_000,
        "search_texts": 50_000,
    }

    table = "\n".join(import_lines(run))

    assert "| from empty | 50,000 | 41.2 | ≤ 60 s | 4.2 + 7.0 | 3.5 | met |" in table
    assert (
        "| unchanged `--full` re-import | 50,000 | 16.0 | ≤ 15 s | 1.8 + ? | 3.9 | MISSED: > 15 s |"
        in table
    )
    assert import_lines(None) == []
