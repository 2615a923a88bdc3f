"""The shapes of the benchmark's configuration (bench/pages.py)."""

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Deep:
    """A page deep in a paginated list. The harness follows the first page's rel="next"
    link: a page number is replaced by a deep one (the last page linked, or `page`); a
    keyset cursor (base64 JSON of the last row's sort values) is rebuilt for the row
    `fraction` of the way down `model`'s rows in the same order as the first page."""

    model: str  # "app_label.ModelName"
    fraction: float = 0.5
    page: int = 4000
    current_only: bool = False  # the register lists current grants by default


@dataclass(frozen=True)
class Page:
    label: str
    url_name: str
    user: str  # a key of bench.data.accounts.BENCH_USERS
    query: str = ""
    role: str = "page"  # "page", "floor" or "peer"
    key: str = ""  # how other rows refer to this one (floor, peers)
    peer: str = ""  # the key of the admin changelist this page is compared with
    peer_target: float = 0.0  # throughput at least this many times the peer's
    obj: Callable | None = None  # (user) -> model instance for a detail page's URL
    deep: Deep | None = None
    api_scope: str = ""  # the read API's pages: sent with a service token of this scope


@dataclass(frozen=True)
class Export:
    label: str
    url_names: list[str]  # tried in order
    user: str
    query: str = ""
    target_rows_per_second: int = 50_000
    target_memory_mb: float = 20.0


@dataclass(frozen=True)
class Sweep:
    label: str
    prepare: str  # "expiry" or "reminders": how due items are made (bench/sweeps.py)
    services: list[str] = field(default_factory=list)  # dotted paths, first found is used
    items: int = 100_000  # timed on one worker
    concurrent_items: int = 5_000  # two workers at once, checked for duplicates
    target_seconds: float = 30.0  # issue 22: 100,000 due items in at most 30 s


@dataclass(frozen=True)
class DirectoryImport:
    """`manage.py import_staff` over a generated directory of `people`, on a scratch
    database: from empty, then the same file again with `--full` (nothing changes)."""

    label: str
    people: int = 50_000
    create_target_seconds: float = 60.0
    reimport_target_seconds: float = 15.0


def first_approved_case_of(user):
    """The person's newest approved case: a full case page with a timeline."""
    from access_requests.models import BusinessCase

    return (
        BusinessCase.objects.filter(requester=user, status=BusinessCase.Status.APPROVED)
        .order_by("-created_at", "-id")
        .first()
        or BusinessCase.objects.filter(requester=user).order_by("-id").first()
    )


def first_approved_case_of_staff(user):
    """bench.staff's newest approved case, seen by someone else (an auditor's case file)."""
    from bench.data.accounts import BENCH_USERS
    from people.models import User

    return first_approved_case_of(User.objects.get(email=BENCH_USERS["staff"]))


def open_review_of(user):
    """The newest open access review in which the person has grants to review (the loader
    starts one for the bench director's directorate)."""
    from reviews.models import AccessReview

    return (
        AccessReview.objects.filter(closed_at=None, items__reviewer=user)
        .order_by("-started_at", "-pk")
        .first()
    )
