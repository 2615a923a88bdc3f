"""The business case's status is assigned in one module only:
`access_requests/services/business_cases.py`. Other apps change it by calling its
transitions (approvals locks the case and calls them), never by writing the field.

The project's Python files are parsed, and every write of a business case's status is
found: an assignment to `<case>.status` (a name that speaks of a case, or a value of
`BusinessCase.Status`), `setattr(<case>, "status", …)`, `status=` given to `update`,
`create` and their kin on a business case query or manager (or with a value of
`BusinessCase.Status`), `BusinessCase(status=…)`, and SQL that updates the case table's
status.
"""

import ast
import re
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
OWNER = Path("access_requests/services/business_cases.py")
# Not the portal's code: the schema's history, the tests (which build cases in any status)
# and the benchmark (which resets its own data between runs).
EXEMPT_PARTS = {"migrations", "tests", "bench", "node_modules", ".venv", "build", "static"}

WRITING_METHODS = {"update", "create", "get_or_create", "update_or_create", "bulk_create"}
CASE_WORDS = re.compile(r"case", re.IGNORECASE)
CASE_TABLE_SQL = re.compile(
    r"\bUPDATE\s+(\S*businesscase\S*|\{[^}]*CASE[^}]*\})\s.*?\bSET\b[^;]*?\bstatus\s*=",
    re.IGNORECASE | re.DOTALL,
)


def _names_in(node: ast.AST) -> set[str]:
    """Every identifier and attribute name in an expression."""
    names = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            names.add(child.id)
        elif isinstance(child, ast.Attribute):
            names.add(child.attr)
    return names


def _is_case_status_value(node: ast.AST | None) -> bool:
    """`BusinessCase.Status.X` (or an expression using it)."""
    return node is not None and {"BusinessCase", "Status"} <= _names_in(node)


def _speaks_of_a_case(node: ast.AST) -> bool:
    """An object whose name says it is a case (`case`, `locked_case`, `self.case`)."""
    if isinstance(node, ast.Name):
        return bool(CASE_WORDS.search(node.id))
    if isinstance(node, ast.Attribute):
        return bool(CASE_WORDS.search(node.attr))
    return False


def _receiver_chain(node: ast.AST) -> set[str]:
    """The names along a call's receiver: `BusinessCase.objects.filter(…).update` gives
    {"BusinessCase", "objects", "filter"}; arguments are not included."""
    names = set()
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
            node = node.value
        elif isinstance(node, ast.Name):
            names.add(node.id)
            return names
        else:
            return names


def _is_case_query(node: ast.AST) -> bool:
    chain = _receiver_chain(node)
    return "BusinessCase" in chain or bool(chain & {"business_cases", "businesscase_set"})


def _sql_text(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            part.value if isinstance(part, ast.Constant) else "{" + ast.unparse(part.value) + "}"
            for part in node.values
        )
    return None


def status_writes(source: str) -> list[int]:
    """The line numbers at which this module writes a business case's status."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if (
                    isinstance(target, ast.Attribute)
                    and target.attr == "status"
                    and (_speaks_of_a_case(target.value) or _is_case_status_value(node.value))
                ):
                    lines.append(node.lineno)
        elif isinstance(node, ast.Call):
            func = node.func
            if (
                isinstance(func, ast.Name)
                and func.id == "setattr"
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and node.args[1].value == "status"
                and (
                    _speaks_of_a_case(node.args[0])
                    or _is_case_status_value(node.args[2] if len(node.args) > 2 else None)
                )
            ):
                lines.append(node.lineno)
            status = next((kw.value for kw in node.keywords if kw.arg == "status"), None)
            if status is None:
                continue
            if isinstance(func, ast.Name) and func.id == "BusinessCase":
                lines.append(node.lineno)
            elif (
                isinstance(func, ast.Attribute)
                and func.attr in WRITING_METHODS
                and (_is_case_query(func.value) or _is_case_status_value(status))
            ):
                lines.append(node.lineno)
        else:
            text = _sql_text(node)
            if text is not None and CASE_TABLE_SQL.search(text):
                lines.append(node.lineno)
    return sorted(set(lines))


def _project_modules():
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if EXEMPT_PARTS & set(relative.parts) or relative.name.startswith("test_"):
            continue
        yield relative, path.read_text(encoding="utf-8")


def test_only_the_business_case_services_assign_its_status():
    writers = {
        str(relative): lines
        for relative, source in _project_modules()
        if relative != OWNER and (lines := status_writes(source))
    }
    assert writers == {}, (
        "A business case's status is assigned outside access_requests/services/"
        f"business_cases.py (file: lines): {writers}. Call its transitions instead."
    )


def test_the_owner_is_found_assigning_it():
    """The search sees the owner's own transitions (so it would see them elsewhere)."""
    lines = status_writes((ROOT / OWNER).read_text(encoding="utf-8"))
    assert len(lines) >= 4  # submit, withdraw, decide, lapse


def test_each_way_of_writing_the_status_is_found():
    writes = {
        "case.status = to_status": 1,
        "locked.status = BusinessCase.Status.LAPSED": 1,
        "setattr(case, 'status', 'approved')": 1,
        "BusinessCase.objects.filter(pk=1).update(status='withdrawn')": 1,
        "requester.business_cases.update(status='lapsed')": 1,
        "queryset.update(status=BusinessCase.Status.APPROVED)": 1,
        "BusinessCase(requester=user, status='approved')": 1,
        "cursor.execute(f'UPDATE {CASES} c SET status = %s WHERE id = %s', params)": 1,
        "cursor.execute('UPDATE access_requests_businesscase SET status = %s', params)": 1,
    }
    for source, expected in writes.items():
        assert len(status_writes(source)) == expected, source


def test_reads_and_other_statuses_are_not_writes():
    reads = [
        "BusinessCase.objects.filter(status=BusinessCase.Status.SUBMITTED)",
        "case.status == BusinessCase.Status.DRAFT",
        "approval.status = ApprovalRequest.Status.DECIDED",
        "locked.status = AccessGrant.Status.ACTIVE",
        "ApprovalRequest.objects.filter(business_case=case).update(status='superseded')",
        "case.approval_requests.filter(status='open').update(status='expired')",
        "AccessGrant.objects.create(business_case=case, status='awaiting')",
        "cursor.execute('SELECT status FROM access_requests_businesscase')",
    ]
    for source in reads:
        assert status_writes(source) == [], source
