#!/usr/bin/env bash
# Installs every Debian 12 package Partyline needs to build, test and run. Idempotent: when all are
# present it changes nothing; otherwise it runs `apt-get update` first, then installs what is missing.
set -euo pipefail

PKGS=(
  # toolchain
  g++ cmake ninja-build pkg-config git ca-certificates curl
  # libraries (see README "Dependencies" for why each)
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev libcurl4-openssl-dev libsqlite3-dev libpugixml-dev libcli11-dev libtomlplusplus-dev
  libsodium-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # fuzzing (scripts/fuzz.sh): clang 14 with libFuzzer and the sanitizer runtimes
  # (libclang-rt-14-dev holds them; clang only recommends it)
  clang libclang-rt-14-dev
  # black-box tests: Node's test runner and the official twilio npm package
  nodejs npm
  # the console's browser tests (playwright-core drives Debian's chromium)
  chromium
  # recordings over the transcription endpoint's size limit are cut with ffmpeg (and ffprobe)
  ffmpeg
  # the Debian package (CPack's DEB generator runs file and dpkg-shlibdeps)
  file dpkg-dev
  # the loopback S3 server of the tests (OpenStack Swift, unpacked by scripts/swift-s3.sh) runs on
  # Debian's python3
  python3
)
[ "${1:-}" = "--print" ] && { printf '%s\n' "${PKGS[@]}"; exit 0; }

missing=()
for p in "${PKGS[@]}"; do
  # nodejs from another repository (e.g. NodeSource) also provides npm: accept it
  if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then continue; fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
