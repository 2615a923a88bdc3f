"""What `make bench` measures. One line per page: its URL name, query and who signs in.

A page whose URL name does not resolve yet is reported as "not built". Users are the
bench accounts of `bench.data.accounts` (admin, auditor, ict, staff, director). `role`:
"floor" is the floor every page is compared with, "peer" a stock admin changelist;
`peer` names the peer a page is compared with and `peer_target` the factor it must beat.
"""

from bench.config import (
    Deep,
    DirectoryImport,
    Export,
    Page,
    Sweep,
    first_approved_case_of,
    first_approved_case_of_staff,
    open_review_of,
)

FLOOR = "floor"

PAGES = [
    Page("Floor: 25 rows by id, no joins", "bench:floor", user="staff", role="floor", key=FLOOR),
    Page("Home", "home", user="staff"),
    Page("Home (director)", "home", user="director"),
    Page("Your requests", "access_requests:case-list", user="staff"),
    Page("Case page", "access_requests:case-detail", user="staff", obj=first_approved_case_of),
    Page("Cases to decide", "approvals:case-list", user="director"),
    Page(
        "Case file (oversight)",
        "oversight:case-detail",
        user="auditor",
        obj=first_approved_case_of_staff,
    ),
    # The governance pages (issue 19): a director's 1,250-person directorate, first and deep
    # page, and the reviewer's page of an access review in progress.
    Page("Access in your directorate", "oversight:directorate-access", user="director"),
    Page(
        "Access in your directorate, deep page",
        "oversight:directorate-access",
        user="director",
        deep=Deep("access_requests.AccessGrant", current_only=True),
    ),
    Page("Access review (reviewer's page)", "reviews:review", user="director", obj=open_review_of),
    Page("Register", "oversight:register", user="admin", peer="admin-grants", peer_target=5),
    Page(
        "Register, filtered (active tier)",
        "oversight:register",
        query="tier=active",
        user="admin",
        peer="admin-grants",
        peer_target=5,
    ),
    Page(
        "Register, searched",
        "oversight:register",
        query="q=Patel",
        user="admin",
        peer="admin-grants-search",
        peer_target=10,
    ),
    Page(
        "Register, deep page",
        "oversight:register",
        deep=Deep("access_requests.AccessGrant", current_only=True),
        user="admin",
        peer="admin-grants",
        peer_target=5,
    ),
    Page(
        "Audit trail", "oversight:audit-trail", user="auditor", peer="admin-audit", peer_target=50
    ),
    Page(
        "Audit trail, deep page",
        "oversight:audit-trail",
        deep=Deep("audit.AuditEvent"),
        user="auditor",
        peer="admin-audit",
        peer_target=50,
    ),
    # The read API (/api/v1/), with a service token: the register's first page as JSON, and
    # the audit feed from the start and from deep in the trail.
    Page(
        "Register API (grants)",
        "api-v1:grants",
        user="admin",
        api_scope="register:read",
        peer="admin-grants",
        peer_target=5,
    ),
    Page(
        "Audit feed (API)",
        "api-v1:audit-events",
        user="auditor",
        api_scope="audit:read",
        peer="admin-audit",
        peer_target=50,
    ),
    Page(
        "Audit feed (API), from event 1,000,000",
        "api-v1:audit-events",
        query="after_id=1000000",
        user="auditor",
        api_scope="audit:read",
        peer="admin-audit",
        peer_target=50,
    ),
    # The peers: Django's stock admin on the same data, as an admin.
    Page(
        "Admin changelist: grants",
        "admin:access_requests_accessgrant_changelist",
        user="admin",
        role="peer",
        key="admin-grants",
    ),
    Page(
        "Admin changelist: grants, searched",
        "admin:access_requests_accessgrant_changelist",
        query="q=patel",
        user="admin",
        role="peer",
        key="admin-grants-search",
    ),
    Page(
        "Admin changelist: audit events",
        "admin:audit_auditevent_changelist",
        user="admin",
        role="peer",
        key="admin-audit",
    ),
]

# The register's CSV export of every grant (all statuses), streamed once.
EXPORTS = [
    Export(
        "CSV export of all grants",
        ["oversight:register-export", "oversight:register-csv", "oversight:export-register"],
        query="status=all",
        user="admin",
    ),
]

# Sweeps timed over `items` due rows on one worker, then run by two workers at once.
# `services` name the sweep's service by its dotted path (bench/tests check each imports).
SWEEPS = [
    Sweep(
        "Grant expiry sweep",
        prepare="expiry",
        services=["access_requests.services.grant_expiry.grant_expiry_sweep"],
    ),
    Sweep(
        "Approval reminder sweep",
        prepare="reminders",
        services=["approvals.services.reminders.approval_remind_due"],
    ),
]

# The staff directory import (issue 17): a department's directory into an empty portal,
# then re-run unchanged as the nightly `--full` import would be (bench/directory_import.py).
DIRECTORY_IMPORT = DirectoryImport("Staff directory import (manage.py import_staff)")
