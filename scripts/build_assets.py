#!/usr/bin/env python3
"""Copy the front-end assets from node_modules into build/static/ (stdlib only).

Django serves build/static/ through STATICFILES_DIRS, so templates use:

    {% static 'govuk/govuk-frontend.min.css' %}
    {% static 'govuk/govuk-frontend.min.js' %}      (an ES module: <script type="module">)
    {% static 'govuk/assets/images/favicon.ico' %}
    {% static 'vendor/axe.min.js' %}                (accessibility tests only)

GOV.UK Frontend's compiled CSS refers to its fonts and images at the site root,
``url(/assets/...)``. Served from a static prefix those would 404, so the copy of the
CSS gets relative ``url(assets/...)`` references, which resolve next to the CSS file.
The .map files are copied too: whitenoise's manifest storage follows sourceMappingURL
comments at collectstatic and fails if the map is missing.

The script is idempotent: files are only rewritten when their content changes, and
files under build/static/govuk/ that no longer come from the package are removed.

Usage: python3 scripts/build_assets.py [--quiet]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
GOVUK_DIST = NODE_MODULES / "govuk-frontend" / "dist" / "govuk"
AXE_MIN_JS = NODE_MODULES / "axe-core" / "axe.min.js"
STATIC_OUT = ROOT / "build" / "static"
GOVUK_OUT = STATIC_OUT / "govuk"
VENDOR_OUT = STATIC_OUT / "vendor"

EXPECTED_GOVUK_MAJOR = 5

# Files taken from dist/govuk/ as they are (paths relative to dist/govuk/).
GOVUK_FILES = [
    "govuk-frontend.min.css.map",
    "govuk-frontend.min.js",
    "govuk-frontend.min.js.map",
]
GOVUK_CSS = "govuk-frontend.min.css"

# Files the templates rely on: the build fails if any is missing afterwards.
REQUIRED_OUTPUTS = [
    "govuk/govuk-frontend.min.css",
    "govuk/govuk-frontend.min.css.map",
    "govuk/govuk-frontend.min.js",
    "govuk/govuk-frontend.min.js.map",
    "govuk/assets/manifest.json",
    "govuk/assets/images/favicon.ico",
    "govuk/assets/images/favicon.svg",
    "govuk/assets/images/govuk-icon-180.png",
    "govuk/assets/images/govuk-icon-mask.svg",
    "vendor/axe.min.js",
]

# url(/assets/...), url('/assets/...') and url("/assets/...") -> url(assets/...)
ABSOLUTE_ASSET_URL = re.compile(r"""url\(\s*(['"]?)/assets/""")
ANY_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""")


class BuildError(Exception):
    pass


def log(message: str, quiet: bool) -> None:
    if not quiet:
        print(message)


def write_if_changed(target: Path, data: bytes) -> bool:
    """Write data to target unless it already holds exactly that; return True if written."""
    if target.is_file() and target.read_bytes() == data:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(target)
    return True


def copy_if_changed(source: Path, target: Path) -> bool:
    if not source.is_file():
        raise BuildError(f"missing source file: {source.relative_to(ROOT)}")
    changed = write_if_changed(target, source.read_bytes())
    if changed:
        shutil.copystat(source, target)
    return changed


def check_sources() -> str:
    package_json = NODE_MODULES / "govuk-frontend" / "package.json"
    if not package_json.is_file() or not AXE_MIN_JS.is_file():
        raise BuildError(
            "node_modules/govuk-frontend or node_modules/axe-core is missing: "
            "run `npm ci` (or `make node`) first"
        )
    version = json.loads(package_json.read_text(encoding="utf-8"))["version"]
    major = int(version.split(".", 1)[0])
    if major != EXPECTED_GOVUK_MAJOR:
        raise BuildError(
            f"govuk-frontend {version} is installed; this project expects "
            f"{EXPECTED_GOVUK_MAJOR}.x (run `npm ci` to install the locked version)"
        )
    return version


def rewrite_css(css: str) -> str:
    rewritten, count = ABSOLUTE_ASSET_URL.subn(r"url(\1assets/", css)
    if count == 0 and "/assets/" in css:
        raise BuildError("govuk-frontend.min.css: found no url(/assets/...) to rewrite")
    return rewritten


def check_css_urls(css: str, css_dir: Path) -> list[str]:
    """Every url() in the CSS must be relative and point at a copied file."""
    problems = []
    for match in ANY_URL.finditer(css):
        url = match.group(2).strip()
        if url.startswith(("data:", "#", "http:", "https:")):
            continue
        if url.startswith("/"):
            problems.append(f"absolute url left in CSS: {url}")
            continue
        path = url.split("?", 1)[0].split("#", 1)[0]
        if not (css_dir / path).is_file():
            problems.append(f"CSS refers to a file that was not copied: {url}")
    return problems


def sync_tree(source_dir: Path, target_dir: Path) -> tuple[int, set[Path]]:
    """Copy every file of source_dir into target_dir; return (files written, target files)."""
    written = 0
    targets: set[Path] = set()
    for source in sorted(source_dir.rglob("*")):
        if not source.is_file():
            continue
        target = target_dir / source.relative_to(source_dir)
        targets.add(target)
        written += copy_if_changed(source, target)
    return written, targets


def remove_stale(root: Path, keep: set[Path]) -> int:
    removed = 0
    if not root.is_dir():
        return 0
    for path in sorted(root.rglob("*"), reverse=True):
        if path.is_file() and path not in keep:
            path.unlink()
            removed += 1
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return removed


def build(quiet: bool) -> None:
    version = check_sources()
    written = 0
    expected: set[Path] = set()

    # GOV.UK Frontend CSS with relative asset URLs.
    css_target = GOVUK_OUT / GOVUK_CSS
    css = (GOVUK_DIST / GOVUK_CSS).read_text(encoding="utf-8")
    css = rewrite_css(css)
    written += write_if_changed(css_target, css.encode("utf-8"))
    expected.add(css_target)

    # Source maps and the JS module, unchanged.
    for name in GOVUK_FILES:
        target = GOVUK_OUT / name
        written += copy_if_changed(GOVUK_DIST / name, target)
        expected.add(target)

    # Fonts, images, manifest.json and (5.10+) the rebrand folder.
    tree_written, tree_targets = sync_tree(GOVUK_DIST / "assets", GOVUK_OUT / "assets")
    written += tree_written
    expected |= tree_targets

    removed = remove_stale(GOVUK_OUT, expected)

    # axe-core for the accessibility tests.
    written += copy_if_changed(AXE_MIN_JS, VENDOR_OUT / "axe.min.js")

    problems = check_css_urls(css, GOVUK_OUT)
    problems += [
        f"expected output missing: build/static/{rel}"
        for rel in REQUIRED_OUTPUTS
        if not (STATIC_OUT / rel).is_file()
    ]
    if problems:
        raise BuildError("\n".join(problems))

    log(
        f"build/static: govuk-frontend {version}, {written} file(s) written, "
        f"{removed} stale file(s) removed",
        quiet,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quiet", action="store_true", help="print nothing on success")
    args = parser.parse_args(argv)
    try:
        build(args.quiet)
    except BuildError as exc:
        print(f"build_assets: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
