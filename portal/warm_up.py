"""Get a web worker ready before its first request, then keep the garbage collector off
what it loaded.

Python's full (generation 2) garbage collection walks every tracked object: once Django,
the URL patterns and the compiled templates are loaded, that is a large heap, and the walk
lands on whichever request happens to allocate at that moment (the slowest requests of a
list page, see docs/performance.md). So everything alive is frozen (`gc.freeze()`, as
the Python docs suggest for a forking server), and the templates are compiled before the
freeze: compiled on first use instead, they would be most of what is left to walk.

Called from `portal/wsgi.py`, so every server that loads `WSGI_APPLICATION` gets it:
gunicorn in production and in `make bench`, and `manage.py runserver` under `make run`. The
tests' live server builds its own handler and does not (`portal/tests/test_warm_up.py`
calls it directly).
"""

import gc
import logging
from pathlib import Path

from django.conf import settings
from django.template import TemplateSyntaxError, engines
from django.urls import get_resolver, reverse

logger = logging.getLogger(__name__)

TEMPLATE_SUFFIXES = {".html", ".txt"}


def _own_template_dirs(engine) -> list[Path]:
    """The project's template folders and the GOV.UK form pack's: what the portal's pages
    render (the Django admin's, used by a few admins, compile on first use)."""
    base = Path(settings.BASE_DIR)
    dirs = []
    for folder in map(Path, engine.template_dirs):
        if folder.is_relative_to(base) or "crispy_forms_gds" in folder.parts:
            dirs.append(folder)
    return dirs


def templates_compile() -> int:
    """Compile (and, through the cached loader, keep) every template the portal renders.
    Returns how many were compiled."""
    compiled = 0
    for engine in engines.all():
        seen = set()
        for folder in _own_template_dirs(engine):
            for path in sorted(folder.rglob("*")):
                if path.suffix not in TEMPLATE_SUFFIXES or not path.is_file():
                    continue
                name = path.relative_to(folder).as_posix()
                if name in seen:  # the first folder's template wins, as in the loader
                    continue
                seen.add(name)
                try:
                    engine.get_template(name)
                except (TemplateSyntaxError, UnicodeDecodeError, LookupError):
                    logger.warning("Template %s did not compile at start-up", name)
                    continue
                compiled += 1
    return compiled


def warm_up_and_freeze() -> int:
    """Load the URL patterns and compile the templates, then move everything alive into
    the collector's permanent generation. Returns how many templates were compiled."""
    get_resolver().url_patterns  # noqa: B018 - imports every view module
    reverse("home")  # the first reverse() builds the lookup tables it reads
    compiled = templates_compile()
    gc.collect()
    gc.freeze()
    return compiled
