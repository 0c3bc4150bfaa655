#!/bin/sh
# Loopback S3 server for tests: OpenStack Swift 2.30 s3api + tempauth + memcached from Debian 12's
# own packages, unpacked (no system install, no init scripts). Needs `apt-get update` run once.
# Recipe and measurements: /work/shared/reference/s3-test-server.md.
#   swift-s3.sh fetch PKGS            download the .debs and unpack them into PKGS
#   swift-s3.sh start PKGS ROOT PORT  S3 on 127.0.0.1:PORT; object/container/account on PORT+1..+3,
#                                     memcached on PORT+4; state, logs and PIDs under ROOT
#   swift-s3.sh stop ROOT             stop the five processes by PID
# PKGS=/ uses packages installed with apt-get install. S3 credentials: access key id
# "test:tester", secret "testing", region us-east-1, path-style only.
set -eu
PKGLIST="swift-proxy swift-object swift-container swift-account memcached"

fetch() {
  P=$1; mkdir -p "$P/debs"
  # shellcheck disable=SC2086 # word splitting intended: lists of package names
  list=$(apt-get install -s --no-install-recommends $PKGLIST | awk '/^Inst /{print $2}')
  [ -n "$list" ] || { echo "swift-s3: all packages installed; use PKGS=/" >&2; return 0; }
  # shellcheck disable=SC2086
  ( cd "$P/debs" && apt-get download $list )
  for d in "$P"/debs/*.deb; do dpkg-deb -x "$d" "$P"; done
  # precompile once: otherwise the first start spends ~7 s compiling bytecode in 4 processes
  /usr/bin/python3 -m compileall -q "$P/usr/lib/python3/dist-packages" >/dev/null 2>&1 || true
}

start() {
  P=$1 R=$2 PORT=$3
  OP=$((PORT+1)) CP=$((PORT+2)) AP=$((PORT+3)) MP=$((PORT+4))
  export PYTHONPATH="$P/usr/lib/python3/dist-packages" LD_LIBRARY_PATH="$P/usr/lib/x86_64-linux-gnu"
  mkdir -p "$R/etc" "$R/srv/node/d1" "$R/run"

  # --- config 1: swift.conf (hash salts + one storage policy)
  cat > "$R/etc/swift.conf" <<CONF
[swift-hash]
swift_hash_path_suffix = partyline-test-suffix
swift_hash_path_prefix = partyline-test-prefix

[storage-policy:0]
name = Policy-0
default = yes
CONF

  # --- configs 2-4: account-server.conf, container-server.conf, object-server.conf
  for s in account:$AP container:$CP object:$OP; do
    n=${s%%:*} port=${s##*:}
    cat > "$R/etc/$n-server.conf" <<CONF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $port
workers = 0
devices = $R/srv/node
mount_check = false
swift_dir = $R/etc
log_level = WARNING
# no /dev/log here: syslog datagrams go to 127.0.0.1 (dropped); by name "localhost" they would
# need /etc/hosts, which a minimal root lacks
log_udp_host = 127.0.0.1
log_udp_port = 514

[pipeline:main]
pipeline = healthcheck $n-server

[filter:healthcheck]
use = egg:swift#healthcheck

[app:$n-server]
use = egg:swift#$n
CONF
  done

  # --- config 5: proxy-server.conf (s3api in front of tempauth; slo for multipart;
  #     keymaster+encryption only so that x-amz-server-side-encryption: AES256 is accepted)
  cat > "$R/etc/proxy-server.conf" <<CONF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $PORT
workers = 0
swift_dir = $R/etc
log_level = WARNING
# no /dev/log here: syslog datagrams go to 127.0.0.1 (dropped); by name "localhost" they would
# need /etc/hosts, which a minimal root lacks
log_udp_host = 127.0.0.1
log_udp_port = 514

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo keymaster encryption proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$MP
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:s3api]
use = egg:swift#s3api
location = us-east-1
[filter:tempauth]
use = egg:swift#tempauth
# S3 access key id "test:tester", secret "testing"
user_test_tester = testing .admin
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
[filter:keymaster]
use = egg:swift#keymaster
encryption_root_secret = $(head -c 32 /dev/urandom | base64)
[filter:encryption]
use = egg:swift#encryption
CONF

  # --- rings: one device, one replica each, built in one Python process (~1 s)
  /usr/bin/python3 - "$R/etc" $OP $CP $AP <<'PY'
import sys
from swift.common.ring import RingBuilder
etc = sys.argv[1]
for name, port in zip(('object', 'container', 'account'), map(int, sys.argv[2:5])):
    b = RingBuilder(10, 1, 1)                      # part_power, replicas, min_part_hours
    b.add_dev({'id': 0, 'region': 1, 'zone': 1, 'ip': '127.0.0.1', 'port': port,
               'device': 'd1', 'weight': 100})
    b.rebalance()
    b.get_ring().save(f'{etc}/{name}.ring.gz')
PY

  # --- launcher: Swift reads swift.conf from /etc/swift unless set_swift_dir() is called first
  cat > "$R/run_server.py" <<'PY'
import socket, sys
# pyeclib opens a syslog socket to "localhost" on import; a minimal root (no /etc/hosts) cannot
# resolve that name, so answer it here: loopback is all these servers ever use.
_getaddrinfo = socket.getaddrinfo
socket.getaddrinfo = lambda host, *a, **k: _getaddrinfo('127.0.0.1' if host == 'localhost' else host, *a, **k)
from swift.common import utils, constraints, storage_policy
from swift.common.wsgi import run_wsgi
swift_dir, conf_file, app_section = sys.argv[1:4]
utils.set_swift_dir(swift_dir)
constraints.reload_constraints()
storage_policy.reload_storage_policies()
sys.exit(run_wsgi(conf_file, app_section, verbose=True))
PY

  "$P/usr/bin/memcached" -u "$(id -un)" -l 127.0.0.1 -p $MP -U 0 -m 64 >"$R/run/memcached.log" 2>&1 &
  echo $! > "$R/run/memcached.pid"
  for n in account container object proxy; do
    /usr/bin/python3 "$R/run_server.py" "$R/etc" "$R/etc/$n-server.conf" $n-server >"$R/run/$n.log" 2>&1 &
    echo $! > "$R/run/$n.pid"
  done

  # --- readiness: all four WSGI servers answer /healthcheck (deadline 30 s)
  for port in $PORT $OP $CP $AP; do
    i=0
    until curl -fsS "http://127.0.0.1:$port/healthcheck" 2>/dev/null | grep -q OK; do
      i=$((i+1)); [ $i -le 300 ] || { echo "swift-s3: port $port not ready; see $R/run/*.log" >&2; stop "$R"; exit 1; }
      sleep 0.1
    done
  done
}

alive() {  # running and not a zombie
  [ -r "/proc/$1/stat" ] || return 1
  read -r _ _ st _ < "/proc/$1/stat"; [ "$st" != Z ]
}

stop() {   # SIGTERM each PID, wait up to 5 s for it to exit (ports are free afterwards)
  for f in "$1"/run/*.pid; do kill "$(cat "$f")" 2>/dev/null || true; done
  for f in "$1"/run/*.pid; do
    p=$(cat "$f") i=0
    while alive "$p" && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
    alive "$p" && kill -9 "$p" 2>/dev/null
    rm -f "$f"
  done
}

case "${1:-}" in
  fetch | start | stop) cmd=$1; shift; "$cmd" "$@" ;;
  *) echo "usage: $0 fetch PKGS | start PKGS ROOT PORT | stop ROOT" >&2; exit 2 ;;
esac
