#!/usr/bin/env bash
# Side-by-side benchmark of gslbd, gdnsd (geoip plugin on the same MaxMind database) and Knot
# (static baseline) on this machine, over loopback only.
#
#   benches/compare.sh            # ROUNDS=3 DURATION=5 by default
#   ROUNDS=5 DURATION=8 benches/compare.sh
#   WORKLOADS="static wild referral" benches/compare.sh
#   benches/compare.sh --signed   # DNSSEC: online signing against the unsigned zone (below)
#   BASELINE=/tmp/gslbd-before benches/compare.sh   # also an older gslbd build, side by side
#   BASELINE=target/release/gslbd GSLBD_ARGS="--rrl-rate 1000000" benches/compare.sh
#                                 # the cost of a flag: the same build with and without it
#
# Workloads (WORKLOADS chooses among them, all by default):
#   static    www.example.test A, an exact name
#   geo       geo.example.test A with ECS over 5,000 client /24s (GSLB; gslbd and gdnsd)
#   wild      host.wild.example.test A, made up by the static wildcard *.wild
#   referral  www.sub.example.test A, below the delegation `sub` (NS ns1.sub with glue A, and
#             ns.other.test. out of the zone): a referral
#   geo-wild  edge.cdn.example.test A with the same ECS clients, made up by *.cdn, which
#             points at the same GSLB record as geo (gslbd and gdnsd)
# Every server serves the same names from the same data (gslbd from the generated JSON zone,
# gdnsd and Knot from zone files written here); Knot has no GeoDNS, so no geo workloads.
#
# Each server runs pinned to CPU 1 (taskset -c 1), the load generator to CPU 0. Rounds
# alternate the servers so machine drift hits all of them alike. For each server and workload
# it prints the median over rounds of: answered qps, lost queries, loaded p50/p99 latency,
# server CPU microseconds per answered query (the stable figure), unloaded p50/p99 (one query
# in flight, client on the other CPU; once with a client that sleeps while it waits and once
# with one that polls, so that only the server's wake-up counts) and RSS; then the
# gslbd/gdnsd ratios. `gslbd_bp` is gslbd with `--udp-busy-poll 200`, measured unloaded only. Every run is bounded in time; only the
# processes this script starts are stopped, by pid. The workloads in UNLOADED (static and geo
# by default) are also measured unloaded; the others only under load, for their CPU per query.
# Last comes a table of CPU per query for every workload, with the spread over rounds, the
# per-round ratios wildcard/exact and referral/exact for each server, and gslbd/gdnsd and
# gslbd/knot for each workload.
#
# BASELINE=PATH (unsigned runs): a second gslbd binary (say, built from the commit before a
# change) serves the same data as `gslbd_base`, measured in the same rounds, and the tables
# end with the per-round ratios gslbd/gslbd_base: the change's cost in CPU per query.
# GSLBD_ARGS: extra flags for `gslbd` only (not gslbd_base): with BASELINE set to the same
# binary, the ratio is the cost of those flags. At the end the script prints gslbd's
# response-rate-limiting counters, so a run that measures RRL's cost shows nobody was limited.
#
# --xdp (or XDP=1, as root): the AF_XDP fast path. gslbd with `--xdp`, gslbd with `--xdp
# --xdp-busy-poll 50` (preferred busy polling, with the interface settings it asks for), gslbd
# on the kernel path, Knot with its XDP listener and Knot on the kernel path, in turn, on a veth pair
# between two network namespaces made for the run; workloads static (all) and geo (gslbd).
# Server CPU per answered query counts the server CPU's busy time, receive processing
# included (method in benches/compare-xdp.sh). Ends with the per-round ratios
# gslbd_xdp/gslbd and gslbd_xdp/knot_xdp.
#
# --signed (or SIGNED=1): the cost of online DNSSEC signing. Every query has the DO bit (the
# `-do.bin` query files), and each server runs twice on the same zone: unsigned, and signed
# on the fly with one ECDSA P-256 key (a CSK). Knot signs with mod-onlinesign (policy
# ecdsap256sha256, single-type-signing; Knot generates the key in its KASP database and
# denies with NSEC "black lies"). gslbd signs with a key made by
# `dnssec-keygen -a ECDSAP256SHA256 -f KSK` in a copy of the zones directory, named in the
# zone's `"dnssec": {"keys": ["K<zone>.+013+<tag>"]}`; when this gslbd does not sign yet (`gslbd
# check` rejects the field, or the answer carries no RRSIG) its signed line is skipped with a
# message saying why. gdnsd has no DNSSEC and is not run. Workloads: static, wild, referral
# and nx (a name that does not exist, 1,000 names, so denial is signed too) by default;
# loaded runs only. Besides the usual tables it prints CPU per answered query signed and
# unsigned per server and workload and the per-round ratio signed/unsigned.
set -euo pipefail
cd "$(dirname "$0")/.."

SIGNED=${SIGNED:-0}
XDP=${XDP:-0}
for arg in "$@"; do
  case $arg in
    --signed) SIGNED=1 ;;
    --xdp) XDP=1 ;;
    *) echo "usage: benches/compare.sh [--signed | --xdp]" >&2; exit 2 ;;
  esac
done

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
OUT=${OUT:-target/bench-compare}
PORT_GSLBD=${PORT_GSLBD:-5392}
PORT_GDNSD=${PORT_GDNSD:-5391}
PORT_KNOT=${PORT_KNOT:-5393}
PORT_GSLBD_BP=${PORT_GSLBD_BP:-5394}
PORT_KNOT_SIGNED=${PORT_KNOT_SIGNED:-5395}
PORT_GSLBD_SIGNED=${PORT_GSLBD_SIGNED:-5396}
GSLBD_ARGS=${GSLBD_ARGS:-}
PORT_GSLBD_BASE=${PORT_GSLBD_BASE:-5398}
BASELINE=${BASELINE:-}
if [ -n "$BASELINE" ] && [ ! -x "$BASELINE" ]; then
  echo "BASELINE=$BASELINE is not an executable gslbd" >&2
  exit 2
fi
ADMIN_GSLBD_SIGNED=${ADMIN_GSLBD_SIGNED:-5397}
ADMIN_GSLBD=${ADMIN_GSLBD:-5389}
SERVER_CPU=${SERVER_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
ALL_WORKLOADS="static geo wild referral geo-wild nx"
if [ "$SIGNED" = 1 ]; then
  WORKLOADS=${WORKLOADS:-static wild referral nx}
  UNLOADED=${UNLOADED:-}
  QSUFFIX=-do
else
  WORKLOADS=${WORKLOADS:-static geo wild referral geo-wild}
  UNLOADED=${UNLOADED:-static geo}
  QSUFFIX=
fi
for w in $WORKLOADS $UNLOADED; do
  case " $ALL_WORKLOADS " in
    *" $w "*) ;;
    *) echo "unknown workload $w (known: $ALL_WORKLOADS)" >&2; exit 2 ;;
  esac
done
has() { case " $1 " in *" $2 "*) return 0 ;; esac; return 1; } # list word

need() { command -v "$1" >/dev/null 2>&1; }
if ! need gdnsd || ! need knotd || ! need dig || ! need taskset || ! need dnssec-keygen; then
  echo "installing gdnsd, knot, dnsutils, bind9-utils" >&2
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq gdnsd knot dnsutils bind9-utils util-linux >/dev/null
fi

echo "building (release)" >&2
cargo build --release --quiet --bin gslbd --example loadgen --example gen_bench_data
BIN=target/release
DATA="$OUT/data"
# A data set from before the wildcard and referral workloads, or the DO query files, lacks
# their queries: make it anew (deterministic: the databases come out the same).
if [ ! -f "$DATA/geo/location.mmdb" ] || [ ! -f "$DATA/queries/geo-wild.bin" ] ||
  [ ! -f "$DATA/queries/static-do.bin" ]; then
  echo "generating the data set (databases of ~340k networks, 5000 client subnets)" >&2
  "$BIN/examples/gen_bench_data" "$DATA" 400000
fi
DATA=$(cd "$DATA" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gslbd-compare.XXXXXX")

PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- gdnsd: the same database and the same continent map ---
mkdir -p "$WORK/gdnsd/zones" "$WORK/gdnsd/run" "$WORK/gdnsd/state"
cat > "$WORK/gdnsd/config" <<CONF
options => {
  listen => [ 127.0.0.1:$PORT_GDNSD ]
  run_dir => $WORK/gdnsd/run
  state_dir => $WORK/gdnsd/state
  udp_threads => 1
  tcp_threads => 1
}
plugins => { geoip => {
  maps => {
    bench => {
      geoip2_db => $DATA/geo/location.mmdb
      datacenters => [def, na, eu, as]
      map => { NA => [na, def], EU => [eu, def], AS => [as, def] }
    }
  }
  resources => {
    geo => { map => bench, dcmap => { na => 192.0.2.1, eu => 192.0.2.2, as => 192.0.2.3, def => 192.0.2.4 } }
  }
}}
CONF
cat > "$WORK/gdnsd/zones/example.test" <<'ZONE'
$TTL 3600
@ SOA ns1 hostmaster 1 7200 900 1209600 60
@ NS ns1
ns1 A 192.0.2.53
www 30 A 192.0.2.10
geo 30 DYNA geoip!geo
*.wild A 192.0.2.20
*.cdn 30 DYNA geoip!geo
sub NS ns1.sub
sub NS ns.other.test.
ns1.sub A 192.0.2.54
ZONE

# --- knot: the static part (the same zone without the DYNA names) ---
mkdir -p "$WORK/knot/run" "$WORK/knot/db" "$WORK/knot/zones"
cp "$WORK/gdnsd/zones/example.test" "$WORK/knot/zones/example.test.zone"
sed -i '/DYNA/d' "$WORK/knot/zones/example.test.zone"
sed -i 's/^@ SOA ns1 hostmaster/@ SOA ns1.example.test. hostmaster.example.test./' "$WORK/knot/zones/example.test.zone"
sed -i '1a $ORIGIN example.test.' "$WORK/knot/zones/example.test.zone"
knot_conf() { # dir port signed(0|1): Knot's configuration, everything it writes in dir
  local dir=$1 port=$2 signed=$3
  cat <<CONF
server:
    listen: 127.0.0.1@$port
    rundir: $dir/run
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: $dir/db
log:
  - target: stderr
    any: warning
CONF
  if [ "$signed" = 1 ]; then
    cat <<CONF
policy:
  - id: online
    algorithm: ecdsap256sha256
    single-type-signing: on
mod-onlinesign:
  - id: online
    policy: online
CONF
  fi
  cat <<CONF
zone:
  - domain: example.test
    storage: $dir/zones
    file: example.test.zone
CONF
  [ "$signed" = 1 ] && echo "    module: mod-onlinesign/online"
  return 0
}
knot_conf "$WORK/knot" "$PORT_KNOT" 0 > "$WORK/knot/knot.conf"
if [ "$SIGNED" = 1 ]; then
  # The same zone file, signed on the fly; its own database (KASP keys, journal, timers).
  mkdir -p "$WORK/knot_signed/run" "$WORK/knot_signed/db" "$WORK/knot_signed/zones"
  cp "$WORK/knot/zones/example.test.zone" "$WORK/knot_signed/zones/"
  knot_conf "$WORK/knot_signed" "$PORT_KNOT_SIGNED" 1 > "$WORK/knot_signed/knot.conf"
fi

# --- the XDP workload (--xdp): its own servers and rounds on a veth pair; see compare-xdp.sh ---
if [ "$XDP" = 1 ]; then
  CLK=$(getconf CLK_TCK)
  # shellcheck source=benches/compare-xdp.sh
  . benches/compare-xdp.sh
  exit 0
fi

# --- gslbd signed: the generated zone with a CSK made by dnssec-keygen ---
GSLBD_SIGNS=0
if [ "$SIGNED" = 1 ]; then
  SZONES="$WORK/gslbd_signed/zones"
  mkdir -p "$SZONES"
  cp "$DATA/zones/"*.json "$SZONES/"
  key=$(dnssec-keygen -q -K "$SZONES" -a ECDSAP256SHA256 -f KSK example.test)
  python3 - "$SZONES/example.test.json" "$key" <<'PY'
import json, sys
path, key = sys.argv[1], sys.argv[2]
zone = json.load(open(path))
zone["dnssec"] = {"keys": [key]}
json.dump(zone, open(path, "w"), indent=1)
PY
  if "$BIN/gslbd" check --zones "$SZONES" --geo "$DATA/geo" >"$WORK/gslbd_signed.check" 2>&1; then
    GSLBD_SIGNS=1
  else
    echo "skipping gslbd's signed run: this gslbd does not sign yet (gslbd check rejects" \
      "the zone's \"dnssec\" field: $(grep -m1 -i 'error\|dnssec' "$WORK/gslbd_signed.check" || head -n1 "$WORK/gslbd_signed.check"))" >&2
  fi
fi

start() { # name, command...
  local name=$1; shift
  taskset -c "$SERVER_CPU" "$@" >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  eval "PID_$name=$!"
}
# One UDP thread each, like gdnsd's `udp_threads => 1` and Knot's `udp-workers: 1`: every
# server gets one core and one thread to answer on.
# shellcheck disable=SC2086 # GSLBD_ARGS is a list of flags
start gslbd "$BIN/gslbd" serve --zones "$DATA/zones" --geo "$DATA/geo" \
  --listen "127.0.0.1:$PORT_GSLBD" --admin "127.0.0.1:$ADMIN_GSLBD" --no-watch --udp-threads 1 $GSLBD_ARGS
start knot knotd -c "$WORK/knot/knot.conf"
if [ "$SIGNED" = 1 ]; then
  SERVERS="gslbd knot knot_signed"
  start knot_signed knotd -c "$WORK/knot_signed/knot.conf"
  if [ "$GSLBD_SIGNS" = 1 ]; then
    SERVERS="gslbd gslbd_signed knot knot_signed"
    start gslbd_signed "$BIN/gslbd" serve --zones "$SZONES" --geo "$DATA/geo" \
      --listen "127.0.0.1:$PORT_GSLBD_SIGNED" --admin "127.0.0.1:$ADMIN_GSLBD_SIGNED" \
      --no-watch --udp-threads 1
  fi
else
  SERVERS="gslbd gslbd_bp gdnsd knot"
  start gslbd_bp "$BIN/gslbd" serve --zones "$DATA/zones" --geo "$DATA/geo" \
    --listen "127.0.0.1:$PORT_GSLBD_BP" --admin off --no-watch --udp-threads 1 --udp-busy-poll 200
  start gdnsd gdnsd -c "$WORK/gdnsd" start
  if [ -n "$BASELINE" ]; then
    SERVERS="gslbd gslbd_base gslbd_bp gdnsd knot"
    start gslbd_base "$BASELINE" serve --zones "$DATA/zones" --geo "$DATA/geo" \
      --listen "127.0.0.1:$PORT_GSLBD_BASE" --admin off --no-watch --udp-threads 1
  fi
fi
port_of() { local v="PORT_$(tr a-z A-Z <<<"$1")"; echo "${!v}"; } # server
pid_of() { local v="PID_$1"; echo "${!v}"; } # server

wait_ready() { # port
  for _ in $(seq 1 100); do
    if dig +time=1 +tries=1 @127.0.0.1 -p "$1" www.example.test +short 2>/dev/null | grep -q 192.0.2.10; then
      return 0
    fi
    sleep 0.1
  done
  echo "server on port $1 did not answer; logs in $WORK" >&2
  return 1
}
for s in $SERVERS; do wait_ready "$(port_of "$s")"; done
# Knot pins its worker threads to CPUs by itself; put every thread of every server back on
# the server CPU so none shares a core with the load generator.
for s in $SERVERS; do taskset -a -p -c "$SERVER_CPU" "$(pid_of "$s")" >/dev/null; done
if [ "$SIGNED" = 1 ]; then
  # A signed server must sign: an RRSIG with the answer (else the line would measure an
  # unsigned answer under a signed name).
  for s in $SERVERS; do
    case $s in *_signed) ;; *) continue ;; esac
    if ! dig +dnssec +norec +time=1 +tries=1 @127.0.0.1 -p "$(port_of "$s")" www.example.test A |
      grep -q 'RRSIG[[:space:]]*A 13'; then
      if [ "$s" = gslbd_signed ]; then
        echo "skipping gslbd's signed run: gslbd accepts the \"dnssec\" field but its answer" \
          "carries no RRSIG" >&2
        kill "$PID_gslbd_signed" 2>/dev/null || true
        SERVERS="gslbd knot knot_signed"
      else
        echo "$s does not sign (no RRSIG with www.example.test A); logs in $WORK" >&2
        exit 1
      fi
    fi
  done
  echo "Knot's DNSKEY: $(dig +short @127.0.0.1 -p "$PORT_KNOT_SIGNED" example.test DNSKEY)" >&2
else
  for p in $PORT_GSLBD $PORT_GDNSD; do
    got=$(dig @127.0.0.1 -p "$p" geo.example.test +subnet=81.2.0.0/24 +short)
    echo "port $p geo answer for a sample client: $got" >&2
  done
fi

# Which server answers which workload: Knot has no GeoDNS; gslbd_bp is measured unloaded only.
serves() { # server workload
  case "$1:$2" in
    knot*:geo | knot*:geo-wild) return 1 ;;
    gslbd_bp:*) has "$UNLOADED" "$2" ;;
    *) return 0 ;;
  esac
}
# The query of each workload, as dig options (for the check below; loadgen reads the .bin).
probe() { # workload
  case $1 in
    static) echo www.example.test ;;
    geo) echo geo.example.test +subnet=81.2.0.0/24 ;;
    wild) echo host.wild.example.test ;;
    referral) echo www.sub.example.test ;;
    geo-wild) echo edge.cdn.example.test +subnet=81.2.0.0/24 ;;
    nx) echo nx0.example.test ;;
  esac
}
# What a server sends for a workload's query: status, flags, section counts and size (no
# cookie, as loadgen sends none). CPU figures compare like with like only where these match.
# Signed runs ask with DO, as the -do.bin queries do.
DIG_DO=""
[ "$SIGNED" = 1 ] && DIG_DO=+dnssec
shape() { # port workload
  # shellcheck disable=SC2046
  dig +norec +nocookie $DIG_DO +time=1 +tries=1 @127.0.0.1 -p "$1" $(probe "$2") |
    awk '/status:/ { s = $6 } /^;; flags:/ { sub(/^;; flags: /, ""); f = $0 }
         /MSG SIZE/ { n = $NF } END { printf "%s flags: %s; %s bytes\n", s, f, n }'
}
for w in $WORKLOADS; do
  for s in $SERVERS; do
    [ "$s" = gslbd_bp ] && continue
    serves "$s" "$w" || continue
    echo "$w on $s: $(shape "$(port_of "$s")" "$w")" >&2
  done
done

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
CLK=$(getconf CLK_TCK)
RESULTS="$WORK/results.txt"
: > "$RESULTS"

ROUND=0
run() { # server pid port workload window seconds [sockets] [spin] [label]
  local server=$1 pid=$2 port=$3 workload=$4 window=$5 seconds=$6 sockets=${7:-4}
  local spin=${8:-0} label=${9:-$5}
  local t0 t1 out
  t0=$(ticks "$pid")
  out=$(SPIN=$spin taskset -c "$LOAD_CPU" "$BIN/examples/loadgen" "$port" "$DATA/queries/$workload$QSUFFIX.bin" "$seconds" "$window" "$sockets" 32)
  t1=$(ticks "$pid")
  local answered
  answered=$(sed 's/.*answered=\([0-9]*\).*/\1/' <<<"$out")
  local cpu
  cpu=$(awk -v a="$t0" -v b="$t1" -v n="$answered" -v c="$CLK" 'BEGIN { printf "%.3f", (b - a) / c * 1e6 / (n > 0 ? n : 1) }')
  echo "$server $workload window=$label $out cpu_us=$cpu round=$ROUND" >> "$RESULTS"
}

for ROUND in $(seq 1 "$ROUNDS"); do
  echo "round $ROUND/$ROUNDS" >&2
  for s in $SERVERS; do
    pid=$(pid_of "$s"); port=$(port_of "$s")
    for w in $WORKLOADS; do
      serves "$s" "$w" || continue
      [ "$s" != gslbd_bp ] && run "$s" "$pid" "$port" "$w" 256 "$DURATION"
      has "$UNLOADED" "$w" || continue
      run "$s" "$pid" "$port" "$w" 1 2 1
      # One query in flight and a client that polls instead of sleeping: only the server's
      # own wake-up (tens of microseconds for an idle vCPU here) is left in the latency.
      run "$s" "$pid" "$port" "$w" 1 2 1 1 spin
    done
  done
done

rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
echo
echo "machine: $(nproc) CPUs, $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ //'), $(uname -r)"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ), rounds: $ROUNDS x ${DURATION}s, servers on CPU $SERVER_CPU, load on CPU $LOAD_CPU"
rss_line="RSS (KiB):"
for s in $SERVERS; do [ "$s" = gslbd_bp ] || rss_line="$rss_line $s $(rss "$(pid_of "$s")"),"; done
echo "${rss_line%,}"
[ "$SIGNED" = 1 ] && echo "signed run: every query with DO (queries/*-do.bin); *_signed = the same zone signed online"
# Response rate limiting (GSLBD_ARGS="--rrl-rate N"): what gslbd held back over the run.
rrl=$(curl -s --max-time 5 "http://127.0.0.1:$ADMIN_GSLBD/metrics" |
  awk '/^gslbd_rrl_limited_total/ { split($1, a, "\""); printf "%s %s, ", a[2], $2 }')
[ -n "$rrl" ] && echo "gslbd response rate limiting: ${rrl%, }"
if [ "$SIGNED" = 1 ] && has "$SERVERS" gslbd_signed; then
  # The signature cache over the whole run: RRSIGs served from it and RRSIGs made.
  sigs=$(curl -s --max-time 5 "http://127.0.0.1:$ADMIN_GSLBD_SIGNED/metrics" |
    awk '/^gslbd_dnssec_signatures_total/ { split($1, a, "\""); v[a[2]] = $2 }
         END { t = v["made"] + v["cached"]; if (t > 0) printf "%d made, %d cached: hit rate %.4f%%", v["made"], v["cached"], 100 * v["cached"] / t }')
  echo "gslbd_signed signature cache over the run: ${sigs:-no metrics}"
fi
echo
python3 - "$RESULTS" "$ROUNDS" <<'PY'
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    f = line.split()
    server, workload, window = f[0], f[1], f[2].split("=")[1]
    kv = dict(x.split("=") for x in f[3:] if "=" in x)
    rows.setdefault((server, workload, window), []).append(kv)
def med(server, workload, window, key):
    r = rows.get((server, workload, window))
    return statistics.median(float(x[key]) for x in r) if r else None
print(f"{'server':12} {'workload':8} {'qps':>9} {'lost':>6} {'p50us':>6} {'p99us':>6} {'cpu_us/q':>9} {'idle_p50':>9} {'idle_p99':>9} {'poll_p50':>9} {'poll_p99':>9}")
def cell(v, fmt):
    return format(v, fmt) if v is not None else format("-", ">" + fmt.split(".")[0].rstrip("f"))
for (server, workload) in sorted({(k[0], k[1]) for k in rows}):
    g = lambda k, w="256": med(server, workload, w, k)
    print(f"{server:12} {workload:8} {cell(g('qps'), '9.0f')} {cell(g('lost'), '6.0f')} "
          f"{cell(g('p50_us'), '6.0f')} {cell(g('p99_us'), '6.0f')} {cell(g('cpu_us'), '9.3f')} "
          f"{cell(g('p50_us', '1'), '9.0f')} {cell(g('p99_us', '1'), '9.0f')} "
          f"{cell(g('p50_us', 'spin'), '9.0f')} {cell(g('p99_us', 'spin'), '9.0f')}")
print()
for workload in ("static", "geo"):
    ratios_cpu, ratios_qps = [], []
    a = rows.get(("gslbd", workload, "256"), [])
    b = rows.get(("gdnsd", workload, "256"), [])
    for x, y in zip(a, b):
        ratios_cpu.append(float(x["cpu_us"]) / float(y["cpu_us"]))
        ratios_qps.append(float(x["qps"]) / float(y["qps"]))
    if ratios_cpu:
        print(f"gslbd/gdnsd {workload:6}: cpu per query {statistics.median(ratios_cpu):.3f}, "
              f"qps {statistics.median(ratios_qps):.3f} (medians of per-round ratios)")

# Wildcards and referrals: CPU per answered query under load, each workload against the
# exact name it stands in for, with the spread over rounds. Ratios are taken within a round.
by_round = {}
for (server, workload, window), r in rows.items():
    if window == "256":
        for x in r:
            by_round[(server, workload, x.get("round"))] = float(x["cpu_us"])
new = {"wild", "referral", "geo-wild", "nx"}
present = sorted({k[1] for k in by_round})
if new & set(present) or any(k[0] == "gslbd_base" for k in by_round):
    order = [w for w in ("static", "wild", "referral", "nx", "geo", "geo-wild") if w in present]
    servers = [s for s in ("gslbd", "gslbd_base", "gslbd_signed", "gdnsd", "knot", "knot_signed")
               if any(k[0] == s for k in by_round)]
    rounds = sorted({k[2] for k in by_round}, key=lambda r: int(r or 0))
    def spread(vals, fmt):
        if not vals:
            return "-"
        return f"{statistics.median(vals):{fmt}} [{min(vals):{fmt}}-{max(vals):{fmt}}]"
    def ratios(a, b):  # per-round a/b for (server, workload) pairs
        return [by_round[a + (r,)] / by_round[b + (r,)] for r in rounds
                if a + (r,) in by_round and b + (r,) in by_round]
    print()
    print(f"CPU us per answered query under load, median [min-max] over {sys.argv[2]} rounds")
    print(f"{'server':12} " + " ".join(f"{w:>23}" for w in order))
    for s in servers:
        cells = [spread([v for k, v in by_round.items() if k[:2] == (s, w)], ".3f") for w in order]
        print(f"{s:12} " + " ".join(f"{c:>23}" for c in cells))
    pairs = [("wild", "static"), ("referral", "static"), ("nx", "static"), ("geo-wild", "geo")]
    pairs = [(a, b) for a, b in pairs if a in present and b in present]
    if pairs:
        print()
        print("per-round ratios, median [min-max]")
        print(f"{'server':12} " + " ".join(f"{a + '/' + b:>23}" for a, b in pairs))
        for s in servers:
            cells = [spread(ratios((s, a), (s, b)), ".3f") for a, b in pairs]
            print(f"{s:12} " + " ".join(f"{c:>23}" for c in cells))
    print()
    print(f"{'':25} " + " ".join(f"{w:>23}" for w in order))
    for a, b in (("gslbd", "gslbd_base"), ("gslbd", "gdnsd"), ("gslbd", "knot"),
                 ("gslbd_signed", "knot_signed")):
        if a in servers and b in servers:
            cells = [spread(ratios((a, w), (b, w)), ".3f") for w in order]
            print(f"{a + '/' + b:25} " + " ".join(f"{c:>23}" for c in cells))
    # Online signing: each server signed against itself unsigned, on the same DO queries.
    signed = [s for s in servers if s.endswith("_signed")]
    if signed:
        print()
        print("online signing: CPU per answered query signed/unsigned, per-round ratios, "
              "median [min-max]")
        print(f"{'server':12} " + " ".join(f"{w:>23}" for w in order))
        for s in signed:
            base = s[: -len("_signed")]
            cells = [spread(ratios((s, w), (base, w)), ".3f") for w in order]
            print(f"{base:12} " + " ".join(f"{c:>23}" for c in cells))
        if "gslbd_signed" not in servers:
            print("gslbd        (no signed run: this gslbd does not sign yet)")
PY
