#!/usr/bin/env bash
# Deploy checks (issue 6): `systemd-analyze verify` accepts the unit as `cmake --install` lays it
# out; CPack builds the .deb with the binary, the unit and the environment template; the .deb
# installs, runs, keeps the admin's environment file on reinstall, and removes and purges cleanly
# in a throwaway Debian 12 root (a copy of a cached minimal root; the host is never touched).
#
# Needs root (chroot, mount) and a configured, built tree (scripts/build.sh release).
# Environment: BUILD_DIR (default build), DEPLOY_TEMPLATE_ROOT (default /var/tmp/fresh-debian12;
# created with debootstrap under $BUILD_DIR/deploy-cache when absent), KEEP_DEPLOY_TMP=1 keeps
# the scratch directory for inspection.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=$(realpath -m "${BUILD_DIR:-build}")
cache_dir=$build_dir/deploy-cache
template_root=${DEPLOY_TEMPLATE_ROOT:-/var/tmp/fresh-debian12}

passed=0
failed=0
work=""
chroot_root=""
smoke_pid=""

summary() { echo "deploy checks: $passed passed, $failed failed"; }
pass() {
	passed=$((passed + 1))
	echo "ok   $* (${SECONDS}s)"
}
fail() {
	failed=$((failed + 1))
	echo "FAIL $*" >&2
	exit 1
}
step() { printf '\n--- %s\n' "$*"; }

# Mount points at or below a directory, deepest first (/proc/mounts escapes spaces as \040;
# our scratch paths have none).
mounts_under() { awk -v d="$1" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/mounts | sort -r; }

cleanup() {
	local status=$?
	if [ -n "$smoke_pid" ] && kill -0 "$smoke_pid" 2>/dev/null; then
		kill "$smoke_pid" 2>/dev/null || true
		wait "$smoke_pid" 2>/dev/null || true
	fi
	if [ -n "$chroot_root" ]; then
		local m
		for m in $(mounts_under "$chroot_root"); do
			umount "$m" 2>/dev/null || umount -l "$m" || true
		done
	fi
	if [ -n "$work" ] && [ -d "$work" ]; then
		if [ -n "$(mounts_under "$work")" ]; then
			echo "check-deploy: $work still has mounts; not removing it" >&2
		elif [ "${KEEP_DEPLOY_TMP:-0}" = 1 ]; then
			echo "check-deploy: kept $work"
		else
			rm -rf --one-file-system "$work"
		fi
	fi
	[ "$status" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1
	summary
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || fail "run as root: the package test needs chroot and mount"
[ -f "$build_dir/CMakeCache.txt" ] || fail "$build_dir is not configured: run scripts/build.sh release"
if ! command -v systemd-analyze >/dev/null; then
	echo "check-deploy: installing systemd (for systemd-analyze)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd >/dev/null
fi
work=$(mktemp -d /var/tmp/partyline-deploy.XXXXXX)

step "build"
# Only what the package holds: cpack (unlike `--target package`) builds nothing itself.
cmake --build "$build_dir" --target partyline >"$work/build.log" 2>&1 || {
	tail -30 "$work/build.log" >&2
	fail "cmake --build $build_dir --target partyline failed"
}
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:[A-Z]*=//p' "$build_dir/CMakeCache.txt")
[ -n "$version" ] || fail "no CMAKE_PROJECT_VERSION in $build_dir/CMakeCache.txt"
pass "build/partyline is up to date (version $version)"

# --- (a) the unit, as `cmake --install` lays it out ----------------------------------------------
step "systemd unit"
stage=$work/stage
cmake --install "$build_dir" --prefix "$stage/usr" >"$work/install.log" 2>&1 || {
	cat "$work/install.log" >&2
	fail "cmake --install failed"
}
unit=$stage/usr/lib/systemd/system/partyline.service
for f in "$stage/usr/bin/partyline" "$unit" "$stage/usr/share/partyline/partyline.env.example"; do
	[ -e "$f" ] || fail "cmake --install did not install ${f#"$stage"}"
done
grep -qx "ExecStart=$stage/usr/bin/partyline serve" "$unit" ||
	fail "the installed unit's ExecStart does not name the installed binary: $(grep ExecStart= "$unit")"
pass "cmake --install lays out the binary, the unit (ExecStart=<prefix>/bin/partyline) and the template"

# verify also loads the binary named by ExecStart, which exists in the staging prefix.
verify_out=$(systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify rejects the unit: $verify_out"
[ -z "$verify_out" ] || fail "systemd-analyze verify warns about the unit: $verify_out"
pass "systemd-analyze verify accepts the unit, without a warning"

# Exposure is 0.0 (locked down) to 10.0 (unprotected); --threshold counts tenths.
exposure=$(systemd-analyze security --offline=true --threshold=20 "$unit" 2>&1) ||
	fail "systemd-analyze security: exposure above 2.0: $(echo "$exposure" | tail -1)"
pass "systemd-analyze security: $(echo "$exposure" | tail -1 | sed 's/^→ //')"

# --- (b) the Debian package ------------------------------------------------------------------------
step "Debian package"
pkg_dir=$work/pkg
cpack --config "$build_dir/CPackConfig.cmake" -G DEB -B "$pkg_dir" >"$work/cpack.log" 2>&1 || {
	cat "$work/cpack.log" >&2
	fail "cpack -G DEB failed"
}
debs=("$pkg_dir"/partyline_*.deb)
if [ "${#debs[@]}" -ne 1 ] || [ ! -f "${debs[0]}" ]; then fail "expected one partyline_*.deb in $pkg_dir"; fi
deb=${debs[0]}
pass "cpack builds $(basename "$deb")"

info=$(dpkg-deb --info "$deb")
field() { dpkg-deb --field "$deb" "$1"; }
[ "$(field Package)" = partyline ] || fail "Package: $(field Package)"
[ "$(field Version)" = "$version-1" ] || fail "Version: $(field Version), expected $version-1"
[ "$(field Section)" = net ] || fail "Section: $(field Section)"
# Shared (Debian's security updates reach them): OpenSSL, SQLite, libcurl. Linked into the binary
# (CMakeLists.txt, PARTYLINE_STATIC_CXX): libstdc++, Boost.JSON/URL, pugixml: not dependencies.
for dep in libc6 libcurl4 libsqlite3-0 libssl3 ca-certificates; do
	field Depends | grep -q "\b$dep\b" || fail "Depends lacks $dep: $(field Depends)"
done
for dep in libstdc++6 libboost-json1.81.0 libboost-url1.81.0 libpugixml1v5; do
	field Depends | grep -q "\b$dep\b" && fail "Depends names $dep, which is linked in: $(field Depends)"
done
for script in postinst prerm postrm; do
	echo "$info" | grep -Eq "^ +[0-9]+ bytes, +[0-9]+ lines +\* +$script " ||
		fail "control archive lacks an executable $script"
done
pass "dpkg-deb --info: partyline $version-1, section net, library Depends, maintainer scripts"

contents=$(dpkg-deb --contents "$deb" | awk '{ print $6 }')
for f in ./usr/bin/partyline ./usr/lib/systemd/system/partyline.service \
	./usr/share/partyline/partyline.env.example ./usr/share/doc/partyline/partyline.env.example \
	./usr/share/doc/partyline/README.md ./usr/share/doc/partyline/Caddyfile \
	./usr/share/doc/partyline/nginx.conf; do
	grep -qx "$f" <<<"$contents" || fail "the .deb lacks $f"
done
if grep -E '^\./(usr/local|etc)/' <<<"$contents"; then
	fail "the .deb ships files under /usr/local or /etc"
fi
pass "dpkg-deb --contents: the binary, the unit, the environment template and the docs"

# The packaged unit is the verified one, with ExecStart=/usr/bin/partyline.
dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/lib/systemd/system/partyline.service >"$work/deb.service"
diff <(sed "s|^ExecStart=$stage/usr/bin/|ExecStart=/usr/bin/|" "$unit") "$work/deb.service" ||
	fail "the packaged unit differs from the verified one beyond ExecStart's prefix"
grep -qx 'ExecStart=/usr/bin/partyline serve' "$work/deb.service" || fail "packaged ExecStart is not /usr/bin/partyline"
pass "the packaged unit is the verified one, ExecStart=/usr/bin/partyline serve"

# --- (c) install, run, reinstall, remove, purge in a throwaway Debian 12 root -----------------------
step "install into a throwaway Debian 12 root"
if [ ! -x "$template_root/usr/bin/apt-get" ]; then
	template_root=$cache_dir/debian12-root
	if [ ! -x "$template_root/usr/bin/apt-get" ]; then
		command -v debootstrap >/dev/null ||
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
		# The mirror this machine's apt uses (deb822 or one-line format); either file may be absent.
		mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1 || true)
		[ -n "$mirror" ] || mirror=$(awk '$1=="deb"{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
		mirror=${mirror:-http://deb.debian.org/debian}
		echo "check-deploy: creating a minimal Debian 12 root in $template_root from $mirror"
		[ -z "$(mounts_under "$template_root")" ] || fail "$template_root has mounts"
		rm -rf --one-file-system "$template_root"
		mkdir -p "$cache_dir"
		debootstrap --variant=minbase bookworm "$template_root.new" "$mirror" >"$work/debootstrap.log" 2>&1 || {
			tail -20 "$work/debootstrap.log" >&2
			fail "debootstrap failed"
		}
		mv "$template_root.new" "$template_root"
	fi
fi
chroot_root=$work/root
cp -a "$template_root" "$chroot_root"
cp /etc/resolv.conf "$chroot_root/etc/resolv.conf"
[ ! -e "$chroot_root/run/systemd/system" ] || fail "the root copy claims a running systemd"
mount -t proc proc "$chroot_root/proc"
in_root() { chroot "$chroot_root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }

# Dependencies come from the mirror, as on a real host; their .debs are cached between runs.
archives=$chroot_root/var/cache/apt/archives
mkdir -p "$cache_dir/apt-archives"
cp -n "$cache_dir"/apt-archives/*.deb "$archives/" 2>/dev/null || true
cp "$deb" "$chroot_root/tmp/partyline.deb"
# --force-unsafe-io: no fsync per file; this root is thrown away.
apt_install() { in_root apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-unsafe-io /tmp/partyline.deb >"$work/apt.log" 2>&1; }
if ! apt_install; then
	echo "check-deploy: apt-get install failed with the cached package lists; updating them"
	in_root apt-get update -q >>"$work/apt.log" 2>&1 || true
	apt_install || {
		tail -30 "$work/apt.log" >&2
		fail "apt-get install ./partyline.deb failed in the Debian 12 root"
	}
fi
for f in "$archives"/*.deb; do
	name=$(basename "$f")
	[ -e "$template_root/var/cache/apt/archives/$name" ] || cp -n "$f" "$cache_dir/apt-archives/"
done
# shellcheck disable=SC2016 # ${Status} is dpkg-query's, not the shell's
[ "$(in_root dpkg-query -W -f '${Status}' partyline)" = "install ok installed" ] ||
	fail "dpkg does not list partyline as installed"
pass "apt-get install ./$(basename "$deb") in a fresh Debian 12 root (dependencies resolved)"

got=$(in_root /usr/bin/partyline --version 2>&1) || fail "/usr/bin/partyline --version failed: $got"
[ "$got" = "partyline $version" ] || fail "/usr/bin/partyline --version printed '$got'"
pass "/usr/bin/partyline --version runs in the root: $got"

grep -qx 'ExecStart=/usr/bin/partyline serve' "$chroot_root/usr/lib/systemd/system/partyline.service" ||
	fail "the installed unit is missing or its ExecStart is wrong"
if [ -x "$chroot_root/usr/bin/deb-systemd-helper" ]; then
	[ -L "$chroot_root/etc/systemd/system/multi-user.target.wants/partyline.service" ] ||
		fail "postinst did not enable partyline.service (no multi-user.target.wants link)"
fi
pass "the unit is installed and enabled (not started: no systemd in the root)"

env_file=$chroot_root/etc/partyline/partyline.env
[ -f "$env_file" ] || fail "postinst did not create /etc/partyline/partyline.env"
[ "$(stat -c '%a %U:%G' "$env_file")" = "640 root:root" ] ||
	fail "/etc/partyline/partyline.env is $(stat -c '%a %U:%G' "$env_file"), expected 640 root:root"
cmp -s "$env_file" "$chroot_root/usr/share/partyline/partyline.env.example" ||
	fail "/etc/partyline/partyline.env differs from the template"
pass "/etc/partyline/partyline.env created from the template, mode 640 root:root"

# The service starts from the installed files (local mode: the template sets nothing) and answers.
# chroot execs env, env execs partyline: $! is the service's own PID.
chroot "$chroot_root" env -i PATH=/usr/bin:/bin HOST=127.0.0.1 PORT=0 DATA_DIR=/var/lib/partyline-smoke \
	/usr/bin/partyline --env-file /etc/partyline/partyline.env serve </dev/null >"$work/serve.log" 2>&1 &
smoke_pid=$!
port=""
for _ in $(seq 100); do
	port=$(sed -n 's/.*"evt":"http.listen".*"port":\([0-9]*\).*/\1/p' "$work/serve.log")
	[ -n "$port" ] && break
	kill -0 "$smoke_pid" 2>/dev/null || break
	sleep 0.1
done
[ -n "$port" ] || {
	cat "$work/serve.log" >&2
	fail "the installed service did not start listening"
}
curl -fsS "http://127.0.0.1:$port/health" >/dev/null || fail "GET /health on the installed service failed"
kill "$smoke_pid"
wait "$smoke_pid" || fail "the installed service exited with status $? on SIGTERM"
smoke_pid=""
pass "the installed service starts with the installed environment file and answers /health"

step "reinstall, remove, purge"
echo "# admin edit" >>"$env_file"
in_root dpkg -i /tmp/partyline.deb >"$work/reinstall.log" 2>&1 || {
	cat "$work/reinstall.log" >&2
	fail "dpkg -i over the installed package failed"
}
tail -1 "$env_file" | grep -qx '# admin edit' || fail "reinstalling overwrote /etc/partyline/partyline.env"
[ "$(stat -c '%a' "$env_file")" = 640 ] || fail "reinstalling changed the environment file's mode"
pass "reinstalling keeps the admin's /etc/partyline/partyline.env"

in_root dpkg -r partyline >"$work/remove.log" 2>&1 || {
	cat "$work/remove.log" >&2
	fail "dpkg -r partyline failed"
}
for f in usr/bin/partyline usr/lib/systemd/system/partyline.service; do
	[ ! -e "$chroot_root/$f" ] || fail "dpkg -r left /$f"
done
# As with debhelper's scripts: on remove the unit is masked (the enablement links stay, dangling,
# so a reinstall restores the admin's choice); purge removes both.
if [ -x "$chroot_root/usr/bin/deb-systemd-helper" ]; then
	[ "$(readlink "$chroot_root/etc/systemd/system/partyline.service")" = /dev/null ] ||
		fail "dpkg -r did not mask partyline.service"
fi
[ -f "$env_file" ] || fail "dpkg -r removed the environment file (only purge should)"
pass "dpkg -r partyline removes the binary and the unit, masks it, keeps the secrets"

in_root dpkg -P partyline >"$work/purge.log" 2>&1 || {
	cat "$work/purge.log" >&2
	fail "dpkg -P partyline failed"
}
[ ! -e "$chroot_root/etc/partyline" ] || fail "dpkg -P left /etc/partyline"
leftover=$(find "$chroot_root/etc/systemd" -name 'partyline*' 2>/dev/null)
[ -z "$leftover" ] || fail "dpkg -P left $leftover"
# shellcheck disable=SC2016 # ${Status} is dpkg-query's, not the shell's
status=$(in_root dpkg-query -W -f '${Status}' partyline 2>/dev/null || true)
case "$status" in "" | *not-installed) ;; *) fail "dpkg still lists partyline after purge: $status" ;; esac
pass "dpkg -P partyline purges /etc/partyline and every systemd link"
