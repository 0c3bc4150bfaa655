#!/bin/sh
# Runs the S3Store integration tests (build/s3_swift_tests) against a loopback Swift S3 started
# here and stopped by PID on exit.
#   tests/integration/run_s3_swift_tests.sh [BINARY]
# Env: SWIFT_PKGS (unpacked Swift packages; fetched there when missing, default build/swift-pkgs),
#      SWIFT_PORT (default 18480; uses PORT..PORT+4).
set -eu
cd "$(dirname "$0")/../.."
BIN=${1:-build/s3_swift_tests}
PKGS=${SWIFT_PKGS:-build/swift-pkgs}
PORT=${SWIFT_PORT:-18480}
[ -d "$PKGS/usr/lib/python3/dist-packages/swift" ] || sh scripts/swift-s3.sh fetch "$PKGS"
ROOT=$(mktemp -d "${TMPDIR:-/tmp}/partyline-swift.XXXXXX")
trap 'sh scripts/swift-s3.sh stop "$ROOT"; rm -rf "$ROOT"' EXIT
trap 'exit 130' INT TERM
sh scripts/swift-s3.sh start "$PKGS" "$ROOT" "$PORT"
S3_TEST_ENDPOINT="http://127.0.0.1:$PORT" "$BIN"
