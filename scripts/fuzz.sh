#!/usr/bin/env bash
# Builds the libFuzzer targets (the `fuzz` preset, clang) and runs each, one after another, for
# SECONDS (default 30) on a temporary copy of its seed corpus in fuzz/corpus/<target>/: inputs
# found during the run are not written into the repository. Fails on the first crash, leak,
# timeout or out-of-memory, naming the input that caused it. docs/FUZZING.md: longer runs.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
shift || true

# The longest input worth trying per target: a webhook body of a few KiB, an S3 answer, an .env
# file; for a connection's bytes, past the 64 KiB body limit (and a 64 KiB trailer field).
declare -A max_len=([form]=4096 [signature]=4096 [s3_xml]=8192 [env_file]=8192 [http_request]=73728 [range]=256 [transcript]=16384)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(http_request form signature s3_xml env_file range transcript)

nice scripts/build.sh fuzz

work=$(mktemp -d "${TMPDIR:-/tmp}/partyline-fuzz.XXXXXX")
trap 'rm -rf "$work"; exit 130' INT TERM
status=0
for target in "${targets[@]}"; do
  [ -n "${max_len[$target]:-}" ] || { echo "fuzz: unknown target $target" >&2; exit 2; }
  corpus=$work/$target/corpus
  artifacts=$work/$target/artifacts/
  mkdir -p "$corpus" "$artifacts"
  cp fuzz/corpus/"$target"/* "$corpus"/
  dict=()
  [ -f fuzz/"$target".dict ] && dict=(-dict=fuzz/"$target".dict)
  printf 'fuzz: %s for %s s\n' "$target" "$seconds"
  # -timeout: one input taking over 10 s is a hang; -rss_limit_mb bounds a runaway allocation.
  if ! build-fuzz/fuzz/fuzz_"$target" "$corpus" "${dict[@]}" -max_total_time="$seconds" \
      -max_len="${max_len[$target]}" -rss_limit_mb=2048 -timeout=10 \
      -artifact_prefix="$artifacts" >"$work/$target/log" 2>&1; then
    tail -n 60 "$work/$target/log" >&2
    for input in "$artifacts"*; do
      [ -e "$input" ] && printf 'fuzz: %s failed on input %s\n' "$target" "$input" >&2
    done
    status=1
    break
  fi
  # "#<executions> DONE cov: <edges> ft: <features> corp: <inputs>/<size> ... rss: <peak>"
  grep -E '^#[0-9]+[[:space:]]+DONE' "$work/$target/log" | sed "s/^/  $target: /"
done
if [ $status -eq 0 ]; then
  rm -rf "$work"
else
  echo "fuzz: logs and the failing input kept in $work" >&2
fi
exit $status
