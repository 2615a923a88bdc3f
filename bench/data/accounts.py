"""The accounts the benchmark signs in as, and the domain every generated address is in."""

BENCH_PASSWORD = "bench-password-2026"  # noqa: S105 - benchmark data only
EMAIL_DOMAIN = "bench.example.gov.uk"

# The people the benchmark signs in as (see bench/pages.py).
BENCH_USERS = {
    "admin": f"bench.admin@{EMAIL_DOMAIN}",
    "auditor": f"bench.auditor@{EMAIL_DOMAIN}",
    "ict": f"bench.ict@{EMAIL_DOMAIN}",
    "staff": f"bench.staff@{EMAIL_DOMAIN}",
    "director": f"bench.director@{EMAIL_DOMAIN}",
}
SPECIAL_USERS = 4  # admin, auditor, ict, staff; the directors follow them
