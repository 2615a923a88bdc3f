#!/usr/bin/env bash
# Writes requirements.lock: every runtime dependency in requirements.txt (the lines above
# "# Tests and tooling") and everything they need, each pinned with the sha256 of the wheel
# pip downloads for this machine's Python and platform. Production installs with
#     pip install --require-hashes -r requirements.lock
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY="${PY:-.venv/bin/python}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

sed '/^# Tests and tooling/,$d' requirements.txt >"$work/runtime.txt"
# docopt (needed by notifications-python-client) is published only as a source archive.
"$PY" -m pip download --quiet --only-binary=:all: --no-binary=docopt -r "$work/runtime.txt" \
    -d "$work/wheels"
"$PY" - "$work/wheels" >requirements.lock <<'PY'
import hashlib
import pathlib
import re
import sys
import tarfile
import zipfile

print("""# Production installs: the runtime dependencies of requirements.txt and everything they
# need, pinned and hash-checked, for CPython 3.11 on Linux x86-64 (the wheels pip chose):
#
#     pip install --require-hashes -r requirements.lock
#
# pip refuses any file whose hash differs, so a tampered mirror or a re-uploaded release
# cannot slip in. Written by scripts/lock_requirements.sh: run it after changing a runtime
# pin in requirements.txt (tests/test_requirements_lock.py checks every pin is here).""")
rows = []
for wheel in pathlib.Path(sys.argv[1]).iterdir():
    if wheel.name.endswith(".tar.gz"):
        with tarfile.open(wheel) as archive:
            [meta] = [n for n in archive.getnames() if n.count("/") == 1 and n.endswith("/PKG-INFO")]
            text = archive.extractfile(meta).read().decode()
    else:
        with zipfile.ZipFile(wheel) as archive:
            [meta] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
            text = archive.read(meta).decode()
    name = re.search(r"^Name: (.+)$", text, re.M).group(1).strip().lower().replace("_", "-")
    version = re.search(r"^Version: (.+)$", text, re.M).group(1).strip()
    rows.append((name, version, hashlib.sha256(wheel.read_bytes()).hexdigest()))
for name, version, digest in sorted(rows):
    print(f"{name}=={version} \\\n    --hash=sha256:{digest}")
PY
echo "lock_requirements: wrote requirements.lock ($(grep -c -- '--hash' requirements.lock) packages)"
