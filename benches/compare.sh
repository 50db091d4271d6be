#!/usr/bin/env bash
# Side-by-side benchmark of gslbd, gdnsd (geoip plugin on the same MaxMind database) and Knot
# (static baseline) on this machine, over loopback only.
#
#   benches/compare.sh            # ROUNDS=3 DURATION=5 by default
#   ROUNDS=5 DURATION=8 benches/compare.sh
#
# Each server runs pinned to CPU 1 (taskset -c 1), the load generator to CPU 0. Rounds
# alternate the servers so machine drift hits all of them alike. For each server and workload
# it prints the median over rounds of: answered qps, lost queries, loaded p50/p99 latency,
# server CPU microseconds per answered query (the stable figure), unloaded p50/p99 (one query
# in flight, client on the other CPU; once with a client that sleeps while it waits and once
# with one that polls, so that only the server's wake-up counts) and RSS; then the
# gslbd/gdnsd ratios. `gslbd-bp` is gslbd with `--udp-busy-poll 200`, measured unloaded only. Every run is bounded in time; only the
# processes this script starts are stopped, by pid.
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
if [ ! -f "$DATA/geo/location.mmdb" ]; then
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
ZONE

# --- knot: the static part ---
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

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
CLK=$(getconf CLK_TCK)
RESULTS="$WORK/results.txt"
: > "$RESULTS"

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
  echo "$server $workload window=$label $out cpu_us=$cpu" >> "$RESULTS"
}

SERVERS="gslbd gslbd_bp gdnsd knot"
for round in $(seq 1 "$ROUNDS"); do
  echo "round $round/$ROUNDS" >&2
  for s in $SERVERS; do
    pid_var="PID_$s"; port_var="PORT_$(tr a-z A-Z <<<"$s")"
    for w in static geo; do
      [ "$s" = knot ] && [ "$w" = geo ] && continue
      [ "$s" != gslbd_bp ] && run "$s" "${!pid_var}" "${!port_var}" "$w" 256 "$DURATION"
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
python3 - "$RESULTS" <<'PY'
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
PY
