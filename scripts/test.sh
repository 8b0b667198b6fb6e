#!/usr/bin/env bash
# The test command of cloudspool:
#   0. scripts/install-deps.sh (installs what is missing: libcurl/zlib headers, icinga2, moto, osmem-server, ...)
#   1. swift build            (the executables)
#   2. swift test             (Swift unit tests)
#   3. python3 -m pytest -q Tests/integration   (against the binaries just built,
#      with moto_server and osmem-server started by the suite on loopback ports)
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k e2e -x`.
# Exits non-zero if any part fails.
set -uo pipefail
cd "$(dirname "$0")/.."

status=0

echo "== dependencies"
bash scripts/install-deps.sh || { echo "installing the dependencies failed" >&2; exit 1; }

echo "== swift build"
if ! swift build; then
    echo "swift build failed: no binaries to test" >&2
    exit 1
fi

echo "== swift test"
if ! swift test; then
    echo "swift test failed" >&2
    status=1
fi

BIN_DIR="$(swift build --show-bin-path)"
echo "== integration tests (CLOUDSPOOL_BIN_DIR=$BIN_DIR)"
if ! CLOUDSPOOL_BIN_DIR="$BIN_DIR" python3 -m pytest -q Tests/integration "$@"; then
    echo "integration tests failed" >&2
    status=1
fi

exit "$status"
