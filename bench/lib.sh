# shellcheck shell=bash
# Helpers shared by bench/run and bench/copy/run (sourced, bash).
log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }   # 2*$1 hex digits
median() { sort -g | awk '{v[NR]=$1} END {if (NR==0) exit 1; print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
stop_pid() {  # SIGTERM, up to 10 s, then SIGKILL; only our own children
  local pid=$1 i=0
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
proc_kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }            # a /proc/PID/status field
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }          # utime + stime
busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }    # all cores
CLK_TCK=$(getconf CLK_TCK)
busy_pct() {  # busy ticks over ns nanoseconds → % of all cores
  awk -v b="$1" -v hz="$CLK_TCK" -v n="$(nproc)" -v ns="$2" 'BEGIN {printf "%.0f", 100 * b / hz / n / (ns / 1e9)}'
}
