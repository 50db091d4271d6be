#!/usr/bin/env bash
# Side-by-side benchmark of gslbd, gdnsd (geoip plugin on the same MaxMind database) and Knot
# (static baseline) on this machine, over loopback only.
#
#   benches/compare.sh            # ROUNDS=3 DURATION=5 by default
#   ROUNDS=5 DURATION=8 benches/compare.sh
#   WORKLOADS="static wild referral" benches/compare.sh
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
# gslbd/gdnsd ratios. `gslbd-bp` is gslbd with `--udp-busy-poll 200`, measured unloaded only. Every run is bounded in time; only the
# processes this script starts are stopped, by pid. The workloads in UNLOADED (static and geo
# by default) are also measured unloaded; the others only under load, for their CPU per query.
# Last comes a table of CPU per query for every workload, with the spread over rounds, the
# per-round ratios wildcard/exact and referral/exact for each server, and gslbd/gdnsd and
# gslbd/knot for each workload.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
OUT=${OUT:-target/bench-compare}
PORT_GSLBD=${PORT_GSLBD:-5392}
PORT_GDNSD=${PORT_GDNSD:-5391}
PORT_KNOT=${PORT_KNOT:-5393}
PORT_GSLBD_BP=${PORT_GSLBD_BP:-5394}
SERVER_CPU=${SERVER_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
ALL_WORKLOADS="static geo wild referral geo-wild"
WORKLOADS=${WORKLOADS:-$ALL_WORKLOADS}
UNLOADED=${UNLOADED:-static geo}
for w in $WORKLOADS $UNLOADED; do
  case " $ALL_WORKLOADS " in
    *" $w "*) ;;
    *) echo "unknown workload $w (known: $ALL_WORKLOADS)" >&2; exit 2 ;;
  esac
done
has() { case " $1 " in *" $2 "*) return 0 ;; esac; return 1; } # list word

need() { command -v "$1" >/dev/null 2>&1; }
if ! need gdnsd || ! need knotd || ! need dig || ! need taskset; then
  echo "installing gdnsd, knot, dnsutils" >&2
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq gdnsd knot dnsutils util-linux >/dev/null
fi

echo "building (release)" >&2
cargo build --release --quiet --bin gslbd --example loadgen --example gen_bench_data
BIN=target/release
DATA="$OUT/data"
# A data set from before the wildcard and referral workloads lacks their queries: make it anew
# (deterministic: the databases come out the same).
if [ ! -f "$DATA/geo/location.mmdb" ] || [ ! -f "$DATA/queries/geo-wild.bin" ]; then
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
cat > "$WORK/knot/knot.conf" <<CONF
server:
    listen: 127.0.0.1@$PORT_KNOT
    rundir: $WORK/knot/run
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: $WORK/knot/db
log:
  - target: stderr
    any: warning
zone:
  - domain: example.test
    storage: $WORK/knot/zones
    file: example.test.zone
CONF

start() { # name, command...
  local name=$1; shift
  taskset -c "$SERVER_CPU" "$@" >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  eval "PID_$name=$!"
}
# One UDP thread each, like gdnsd's `udp_threads => 1` and Knot's `udp-workers: 1`: every
# server gets one core and one thread to answer on.
start gslbd "$BIN/gslbd" serve --zones "$DATA/zones" --geo "$DATA/geo" \
  --listen "127.0.0.1:$PORT_GSLBD" --admin off --no-watch --udp-threads 1
start gslbd_bp "$BIN/gslbd" serve --zones "$DATA/zones" --geo "$DATA/geo" \
  --listen "127.0.0.1:$PORT_GSLBD_BP" --admin off --no-watch --udp-threads 1 --udp-busy-poll 200
start gdnsd gdnsd -c "$WORK/gdnsd" start
start knot knotd -c "$WORK/knot/knot.conf"

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
for p in $PORT_GSLBD $PORT_GSLBD_BP $PORT_GDNSD $PORT_KNOT; do wait_ready "$p"; done
# Knot pins its worker threads to CPUs by itself; put every thread of every server back on
# the server CPU so none shares a core with the load generator.
for pid in "$PID_gslbd" "$PID_gslbd_bp" "$PID_gdnsd" "$PID_knot"; do taskset -a -p -c "$SERVER_CPU" "$pid" >/dev/null; done
for p in $PORT_GSLBD $PORT_GDNSD; do
  got=$(dig @127.0.0.1 -p "$p" geo.example.test +subnet=81.2.0.0/24 +short)
  echo "port $p geo answer for a sample client: $got" >&2
done

# Which server answers which workload: Knot has no GeoDNS; gslbd_bp is measured unloaded only.
serves() { # server workload
  case "$1:$2" in
    knot:geo | knot:geo-wild) return 1 ;;
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
  esac
}
# What a server sends for a workload's query: status, flags, section counts and size (no
# cookie, as loadgen sends none). CPU figures compare like with like only where these match.
shape() { # port workload
  # shellcheck disable=SC2046
  dig +norec +nocookie +time=1 +tries=1 @127.0.0.1 -p "$1" $(probe "$2") |
    awk '/status:/ { s = $6 } /^;; flags:/ { sub(/^;; flags: /, ""); f = $0 }
         /MSG SIZE/ { n = $NF } END { printf "%s flags: %s; %s bytes\n", s, f, n }'
}
for w in $WORKLOADS; do
  for s in gslbd gdnsd knot; do
    serves "$s" "$w" || continue
    port_var="PORT_$(tr a-z A-Z <<<"$s")"
    echo "$w on $s: $(shape "${!port_var}" "$w")" >&2
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
  out=$(SPIN=$spin taskset -c "$LOAD_CPU" "$BIN/examples/loadgen" "$port" "$DATA/queries/$workload.bin" "$seconds" "$window" "$sockets" 32)
  t1=$(ticks "$pid")
  local answered
  answered=$(sed 's/.*answered=\([0-9]*\).*/\1/' <<<"$out")
  local cpu
  cpu=$(awk -v a="$t0" -v b="$t1" -v n="$answered" -v c="$CLK" 'BEGIN { printf "%.3f", (b - a) / c * 1e6 / (n > 0 ? n : 1) }')
  echo "$server $workload window=$label $out cpu_us=$cpu round=$ROUND" >> "$RESULTS"
}

SERVERS="gslbd gslbd_bp gdnsd knot"
for ROUND in $(seq 1 "$ROUNDS"); do
  echo "round $ROUND/$ROUNDS" >&2
  for s in $SERVERS; do
    pid_var="PID_$s"; port_var="PORT_$(tr a-z A-Z <<<"$s")"
    for w in $WORKLOADS; do
      serves "$s" "$w" || continue
      [ "$s" != gslbd_bp ] && run "$s" "${!pid_var}" "${!port_var}" "$w" 256 "$DURATION"
      has "$UNLOADED" "$w" || continue
      run "$s" "${!pid_var}" "${!port_var}" "$w" 1 2 1
      # One query in flight and a client that polls instead of sleeping: only the server's
      # own wake-up (tens of microseconds for an idle vCPU here) is left in the latency.
      run "$s" "${!pid_var}" "${!port_var}" "$w" 1 2 1 1 spin
    done
  done
done

rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
echo
echo "machine: $(nproc) CPUs, $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ //'), $(uname -r)"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ), rounds: $ROUNDS x ${DURATION}s, servers on CPU $SERVER_CPU, load on CPU $LOAD_CPU"
echo "RSS (KiB): gslbd $(rss "$PID_gslbd"), gdnsd $(rss "$PID_gdnsd"), knot $(rss "$PID_knot")"
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
print(f"{'server':8} {'workload':8} {'qps':>9} {'lost':>6} {'p50us':>6} {'p99us':>6} {'cpu_us/q':>9} {'idle_p50':>9} {'idle_p99':>9} {'poll_p50':>9} {'poll_p99':>9}")
def cell(v, fmt):
    return format(v, fmt) if v is not None else format("-", ">" + fmt.split(".")[0].rstrip("f"))
for (server, workload) in sorted({(k[0], k[1]) for k in rows}):
    g = lambda k, w="256": med(server, workload, w, k)
    print(f"{server:8} {workload:8} {cell(g('qps'), '9.0f')} {cell(g('lost'), '6.0f')} "
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
new = {"wild", "referral", "geo-wild"}
present = sorted({k[1] for k in by_round})
if new & set(present):
    order = [w for w in ("static", "wild", "referral", "geo", "geo-wild") if w in present]
    servers = [s for s in ("gslbd", "gdnsd", "knot") if any(k[0] == s for k in by_round)]
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
    print(f"{'server':8} " + " ".join(f"{w:>21}" for w in order))
    for s in servers:
        cells = [spread([v for k, v in by_round.items() if k[:2] == (s, w)], ".3f") for w in order]
        print(f"{s:8} " + " ".join(f"{c:>21}" for c in cells))
    print()
    print("per-round ratios, median [min-max]")
    pairs = [("wild", "static"), ("referral", "static"), ("geo-wild", "geo")]
    pairs = [(a, b) for a, b in pairs if a in present and b in present]
    print(f"{'server':8} " + " ".join(f"{a + '/' + b:>21}" for a, b in pairs))
    for s in servers:
        cells = [spread(ratios((s, a), (s, b)), ".3f") for a, b in pairs]
        print(f"{s:8} " + " ".join(f"{c:>21}" for c in cells))
    print()
    print(f"{'':11} " + " ".join(f"{w:>21}" for w in order))
    for other in ("gdnsd", "knot"):
        cells = [spread(ratios(("gslbd", w), (other, w)), ".3f") for w in order]
        print(f"{'gslbd/' + other:11} " + " ".join(f"{c:>21}" for c in cells))
PY
