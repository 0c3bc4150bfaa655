#!/usr/bin/env bash
# Flake hunt: runs the black-box suite (tests/e2e, `node --test *.test.mjs`) N times back to back
# and counts, per test file, the runs in which it passed and failed. With --load, stress-ng keeps
# every core busy meanwhile (installed from Debian when missing), which is where races show up.
#   scripts/test-repeat.sh N [--load]
# Prints "<file>: N passed, M failed" per file, then "N passed, M failed" over all of them; exits
# non-zero when any run failed. Each run's output is kept in build/test-repeat/run-<i>.log.
# Env: PARTYLINE_BIN (a binary to test; otherwise build/partyline, built here), SWIFT_PKGS.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: scripts/test-repeat.sh N [--load]" >&2; exit 2; }
runs='' load=false
for arg in "$@"; do
  case $arg in
    --load) load=true ;;
    '' | *[!0-9]*) usage ;;
    *) [ -z "$runs" ] || usage; runs=$arg ;;
  esac
done
{ [ -n "$runs" ] && [ "$runs" -gt 0 ]; } || usage

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo

# What the suite needs, as scripts/test.sh sets it up (the service binary only, no unit tests).
scripts/install-deps.sh
if [ -z "${PARTYLINE_BIN:-}" ]; then
  cmake --preset release >/dev/null
  cmake --build --preset release --target partyline
fi
export SWIFT_PKGS=${SWIFT_PKGS:-$PWD/build/swift-pkgs}
[ -d "$SWIFT_PKGS/usr/lib/python3/dist-packages/swift" ] || sh scripts/swift-s3.sh fetch "$SWIFT_PKGS"
(cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)

logs=$PWD/build/test-repeat
mkdir -p "$logs"
rm -f "$logs"/run-*.log "$logs"/run-*.files

stress_pid=
stop_stress() {
  [ -n "$stress_pid" ] || return 0
  kill "$stress_pid" 2>/dev/null || true
  wait "$stress_pid" 2>/dev/null || true
  stress_pid=
}
trap stop_stress EXIT
trap 'exit 130' INT TERM

if $load; then
  if ! command -v stress-ng >/dev/null; then
    echo "test-repeat: installing stress-ng" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends stress-ng >/dev/null
  fi
  stress-ng --cpu "$(nproc)" --quiet >"$logs/stress-ng.log" 2>&1 &
  stress_pid=$!
  echo "test-repeat: stress-ng keeps $(nproc) cores busy (PID $stress_pid)"
fi

declare -A passed failed
for f in tests/e2e/*.test.mjs; do
  passed[${f##*/}]=0 failed[${f##*/}]=0
done

any_failed=false
for ((i = 1; i <= runs; i++)); do
  log=$logs/run-$i.log files=$logs/run-$i.files
  start=$SECONDS
  status=0
  (cd tests/e2e && node --test --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=./tools/file-results.mjs --test-reporter-destination="$files" ./*.test.mjs) \
    >"$log" 2>&1 || status=$?
  touch "$files"
  run_failed=false
  for file in "${!passed[@]}"; do
    # A file that reported nothing (the runner died first) counts as failed.
    if grep -qx "$file pass" "$files"; then
      passed[$file]=$((passed[$file] + 1))
    else
      failed[$file]=$((failed[$file] + 1))
      run_failed=true
    fi
  done
  if [ "$status" -ne 0 ] && ! $run_failed; then
    echo "test-repeat: run $i: node --test exited with $status but no file failed; see $log" >&2
    run_failed=true
  fi
  if $run_failed; then
    any_failed=true
    echo "run $i/$runs: FAILED in $((SECONDS - start)) s ($(grep -c ' fail$' "$files" || true) files failed; see $log)"
  else
    echo "run $i/$runs: passed in $((SECONDS - start)) s"
  fi
done
stop_stress

total_passed=0 total_failed=0
while read -r file; do
  echo "$file: ${passed[$file]} passed, ${failed[$file]} failed"
  total_passed=$((total_passed + passed[$file]))
  total_failed=$((total_failed + failed[$file]))
done < <(printf '%s\n' "${!passed[@]}" | sort)
echo "$total_passed passed, $total_failed failed"
! $any_failed
