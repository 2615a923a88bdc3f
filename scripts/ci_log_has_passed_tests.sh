#!/usr/bin/env bash
# Exit 0 when the log (argument 1) holds a pytest summary with at least one passed test,
# colours stripped. Used by .ci/run after `make test`.
set -euo pipefail
# grep reads the whole log (no -q): quitting at the first match would end sed with SIGPIPE,
# which pipefail reports as a failure once the log is longer than the pipe holds.
sed 's/\x1b\[[0-9;]*m//g' "$1" \
    | grep -E '(^|[ =])[1-9][0-9]* passed.* in [0-9]+(\.[0-9]+)?s' >/dev/null
