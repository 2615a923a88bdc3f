"""What a walk of a role's pages found, shared by every test of the run, in every xdist worker.

The walks open every URL of the portal as one role only to learn which of them answer that
role with a page (200 and HTML), and which of those show a form: the browser suites (axe,
keyboard with and without JavaScript, sideways scrolling) to know which pages to load, the
HTML check to keep each page's HTML, and `find_forms` for the fuzzing, the form messages and
the CSRF check. Every world `build_world` makes has the same shape, so the answers are the
same in every test, and the permission matrix checks each URL × role's status on its own
(`tests/security/test_permission_matrix.py`). So the first walk of a role, on whichever
worker, opens every URL and writes down what answered; every later one opens only those
pages (for their HTML or forms) or none at all (for the URL list), in its own world.

An entry is a list of (URL name, repr of the object filling its parameters), keyed by what
decides it: the URL configuration, the role, the objects and any extra pages. Under xdist the
entries are files in the run's shared temporary folder (the workers' `basetemp`'s parent,
where `tests/database_template.py` keeps its lock), written whole and renamed into place, so
a reader sees a whole entry or none; two workers walking the same role at once both write
the same entry. A run without xdist keeps them in the process.
"""

import hashlib
import json
import os
from pathlib import Path

from django.conf import settings

_known: dict[str, list[tuple[str, str]]] = {}
_folder: Path | None = None


def share_between_workers_in(folder: Path) -> None:
    global _folder
    folder.mkdir(exist_ok=True)
    _folder = folder


def key(kind: str, role: str, objects: dict, extra=()) -> str:
    """The entry's name: what the walk was, as whom, with which objects and extra pages."""
    what = repr(
        (
            kind,
            settings.ROOT_URLCONF,
            role,
            repr(sorted(objects.items())),  # an object may be a dict ({"pk": …, "site_pk": …})
            repr(list(extra)),
        )
    )
    return hashlib.sha256(what.encode()).hexdigest()[:32]


def recall(name: str) -> set[tuple[str, str]] | None:
    """The (URL name, object) pairs an earlier walk wrote down, or None if none did."""
    if name not in _known and _folder is not None and (_folder / name).exists():
        _known[name] = [tuple(pair) for pair in json.loads((_folder / name).read_text())]
    found = _known.get(name)
    return None if found is None else set(found)


def remember(name: str, pairs) -> None:
    pairs = sorted(set(pairs))
    _known.setdefault(name, pairs)
    if _folder is not None and not (_folder / name).exists():
        partial = _folder / f"{name}.{os.getpid()}.partial"
        partial.write_text(json.dumps(pairs))
        partial.replace(_folder / name)
