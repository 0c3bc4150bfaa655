#!/usr/bin/env bash
# The whole test suite, as CI runs it on a fresh Debian 12: install, build, unit tests, unit
# tests under AddressSanitizer + UndefinedBehaviorSanitizer, a short run of each fuzz target, then
# the black-box tests against the real binary.
set -euo pipefail
cd "$(dirname "$0")/.."
export CTEST_PARALLEL_LEVEL=${CTEST_PARALLEL_LEVEL:-$(nproc)}

step() { printf '\n=== %s\n' "$*"; }

step "dependencies"
scripts/install-deps.sh

step "build (release)"
scripts/build.sh release
step "unit tests"
ctest --preset release

step "build (asan + ubsan)"
scripts/build.sh asan
step "unit tests under ASan + UBSan"
ctest --preset asan

step "fuzz: each target for 20 s"
scripts/fuzz.sh 20

step "S3 client against a real S3 server (OpenStack Swift from Debian packages, on loopback)"
export SWIFT_PKGS=${SWIFT_PKGS:-$PWD/build/swift-pkgs}
tests/integration/run_s3_swift_tests.sh

step "deploy: systemd unit, Debian package built and installed in a throwaway Debian 12 root"
scripts/check-deploy.sh

step "black-box tests (tests/e2e)"
cd tests/e2e
npm ci --no-audit --no-fund --loglevel=error
npm test
