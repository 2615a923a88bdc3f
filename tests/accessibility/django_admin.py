"""The Django admin under the same checks as our pages, with Django's own findings listed.

The admin's markup, CSS and scripts are Django's (and its vendored select2), not the
portal's templates. What axe-core or the HTML checker finds in them is listed below, each
finding exactly (the page, the rule or message, the element) with why it is Django's. The
tests fail on anything not listed, and on a listed finding that no longer occurs (after a
Django upgrade fixed it), so the list cannot rot into a blanket exception.
"""

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Known:
    rule: str  # axe rule id, or the HTML checker's message (exactly)
    where: str  # a regex the element's CSS selector (axe) or source extract (checker) matches
    pages: tuple[str, ...]  # admin URL names the finding is on
    reason: str

    def covers(self, finding: "Finding") -> bool:
        return (
            finding.page in self.pages
            and finding.rule == self.rule
            and re.search(self.where, finding.where) is not None
        )


@dataclass(frozen=True)
class Finding:
    page: str  # admin URL name
    state: str  # "empty" or "errors"
    rule: str
    where: str

    def __str__(self):
        return f"{self.page} ({self.state}): {self.rule} at {self.where}"


def sort_findings(found: list[Finding], known: list[Known]) -> tuple[list[str], list[str]]:
    """(findings nobody listed, listed findings that no longer occur)."""
    unexpected = sorted({str(f) for f in found if not any(k.covers(f) for k in known)})
    stale = [
        f"{k.rule} at /{k.where}/ on {', '.join(k.pages)}: no longer found; remove it from "
        "the known findings"
        for k in known
        if not all(any(k.covers(f) for f in found if f.page == page) for page in k.pages)
    ]
    return unexpected, stale


CHANGELISTS_WITH_FILTERS = (
    "admin:people_user_changelist",
    "admin:access_requests_accessgrant_changelist",
    "admin:audit_auditevent_changelist",
)

KNOWN_AXE = [
    Known(
        "target-size",
        r"^(details\[data-filter-title=\"[^\"]+\"\] > ul > )?(\.selected > )?a\[href=\"\?[^\"]*\"\]$",
        CHANGELISTS_WITH_FILTERS,
        "The changelist's filter sidebar (admin/filter.html, admin/css/changelists.css) lists "
        "its links in small type with no spacing, under the 24px target size of WCAG 2.2 AA.",
    ),
    Known(
        "link-in-text-block",
        r"^\.breadcrumbs > a\[href\$=\"",
        ("admin:app_list", "admin:audit_auditevent_changelist"),
        "Django's breadcrumbs (admin/css/base.css) mark their links by colour alone, without "
        "an underline, inside the line of text 'Home › App › Model'.",
    ),
    Known(
        "aria-input-field-name",
        r"select2",
        ("admin:people_user_add",),
        "The staff profile inline's business unit is an autocomplete field: Django's vendored "
        "select2 draws an empty combobox <span> with no accessible name until a unit is "
        "chosen (admin/js/vendor/select2).",
    ),
    Known(
        "aria-prohibited-attr",
        r"\.help-tooltip\.search-label-icon$",
        ("admin:people_user_change",),
        "The groups field's two-list selector (admin/js/SelectFilter2.js) puts aria-label on "
        "a <span> without a role for its search icon.",
    ),
]

KNOWN_HTML = [
    Known(
        "Attribute “disabled” not allowed on element “div” at this point.",
        r'<div disabled aria-describedby="id_password_helptext" id="id_password">',
        ("admin:people_user_change",),
        "The user form's read-only password summary (ReadOnlyPasswordHashWidget, "
        "auth/widgets/read_only_password_hash.html) renders its field's disabled attribute "
        "on a <div>.",
    ),
    Known(
        "No “p” element in scope but a “p” end tag seen.",
        r"</li></ul></p>",
        ("admin:auth_user_password_change",),
        "admin/auth/user/change_password.html wraps the 'usable password' help text, which "
        "is a <ul> (django.contrib.auth.forms), in a <p>.",
    ),
]
