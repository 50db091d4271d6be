# shellcheck shell=bash
# The XDP workload of benches/compare.sh (`benches/compare.sh --xdp`, sourced by it after the
# data set and Knot's zone file are made): gslbd with `--xdp`, gslbd on the kernel path, Knot
# with its XDP listener and Knot on the kernel path, each in turn on the same veth pair
# between two network namespaces this script makes (load generator in one, server in the
# other), so that queries cross a real (virtual) network interface as they would from a NIC.
#
# Server CPU per answered query: on veth, receive processing (the kernel's IP/UDP stack, or
# the XDP program and the copy into the AF_XDP ring) runs in NAPI context, by default on the
# *sending* CPU, and a server's reply would be processed for the client on the server's CPU.
# So both ends get threaded NAPI (`/sys/class/net/IF/threaded`), with GRO and UDP GRO
# forwarding on and TSO off so that every packet takes the NAPI path, and each end's NAPI
# thread is pinned to its own side's CPU: the server's receive work lands on the server CPU,
# the generator's on the load CPU. The figure is the server CPU's busy time (user, nice,
# system, irq, softirq, steal in /proc/stat) per answered query: the server process, its
# receive processing and its transmit path, whatever kernel path it takes. The server
# process's own CPU is printed beside it. Anything else running on the server CPU counts too:
# run it on an otherwise idle machine.
#
# Uses from compare.sh: BIN, DATA, WORK, PIDS, ROUNDS, DURATION, SERVER_CPU, LOAD_CPU, CLK.
# Only the namespaces and processes made here are touched; all are removed on exit.

if [ "$(id -u)" -ne 0 ]; then
  echo "--xdp needs root (network namespaces, XDP)" >&2
  exit 2
fi
command -v ethtool >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ethtool >/dev/null
NS_GEN=gslbd-bench-gen-$$
NS_SRV=gslbd-bench-srv-$$
SRV_ADDR=10.53.0.2
XDP_PORT=53
cleanup_xdp() {
  ip netns del "$NS_GEN" 2>/dev/null || true
  ip netns del "$NS_SRV" 2>/dev/null || true
}
trap 'cleanup_xdp; cleanup' EXIT
ip netns add "$NS_GEN"
ip netns add "$NS_SRV"
ip link add gen0 netns "$NS_GEN" type veth peer name srv0 netns "$NS_SRV"
ip -n "$NS_GEN" addr add 10.53.0.1/24 dev gen0
ip -n "$NS_SRV" addr add "$SRV_ADDR/24" dev srv0
for ns_if_cpu in "$NS_GEN gen0 $LOAD_CPU" "$NS_SRV srv0 $SERVER_CPU"; do
  set -- $ns_if_cpu
  ip -n "$1" link set lo up
  ip -n "$1" link set "$2" up
  ip netns exec "$1" ethtool -K "$2" gro on rx-udp-gro-forwarding on tso off >/dev/null
  ip netns exec "$1" sh -c "echo 1 > /sys/class/net/$2/threaded"
done
napi_pids() { pgrep -f "^napi/$1-" || true; } # interface
pin_napi() {
  for p in $(napi_pids gen0); do taskset -p -c "$LOAD_CPU" "$p" >/dev/null; done
  for p in $(napi_pids srv0); do taskset -p -c "$SERVER_CPU" "$p" >/dev/null; done
}
pin_napi

# Knot: the static zone of the loopback runs, listening in the server namespace, with and
# without its XDP listener (Debian's knot is built with XDP).
knot_xdp_conf() { # dir xdp(0|1)
  cat <<CONF
server:
    listen: $SRV_ADDR@$XDP_PORT
    rundir: $1/run
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: $1/db
log:
  - target: stderr
    any: info
zone:
  - domain: example.test
    storage: $WORK/knot/zones
    file: example.test.zone
CONF
  if [ "$2" = 1 ]; then
    printf 'xdp:\n    listen: srv0@%s\n    udp: on\n' "$XDP_PORT"
  fi
}
for k in knot knot_xdp; do
  mkdir -p "$WORK/$k-ns/run" "$WORK/$k-ns/db"
  knot_xdp_conf "$WORK/$k-ns" "$([ $k = knot_xdp ] && echo 1 || echo 0)" >"$WORK/$k-ns/knot.conf"
done

# gslbd_xdp_bp: gslbd --xdp with --xdp-busy-poll (preferred busy polling) and srv0's
# napi_defer_hard_irqs 2 / gro_flush_timeout 200000 as gslbd advises.
XSERVERS=${XSERVERS:-gslbd_xdp gslbd_xdp_bp gslbd knot_xdp knot}
XDP_BUSY_POLL=${XDP_BUSY_POLL:-50}
# Queries in flight: veth's receive ring holds 256 packets, and a full window of 256 arriving
# at once would overflow it (lost queries that say nothing about the servers).
XDP_WINDOW=${XDP_WINDOW:-128}
start_in_ns() { # server: runs it in the server namespace on the server CPU; sets SPID
  local cmd
  case $1 in
    gslbd) cmd=("$BIN/gslbd" serve --zones "$DATA/zones" --geo "$DATA/geo" --listen "$SRV_ADDR:$XDP_PORT" --admin off --no-watch --udp-threads 1) ;;
    gslbd_xdp) cmd=("$BIN/gslbd" serve --zones "$DATA/zones" --geo "$DATA/geo" --listen "$SRV_ADDR:$XDP_PORT" --admin off --no-watch --udp-threads 1 --xdp srv0) ;;
    gslbd_xdp_bp) cmd=("$BIN/gslbd" serve --zones "$DATA/zones" --geo "$DATA/geo" --listen "$SRV_ADDR:$XDP_PORT" --admin off --no-watch --udp-threads 1 --xdp srv0 --xdp-busy-poll "$XDP_BUSY_POLL") ;;
    knot | knot_xdp) cmd=(knotd -c "$WORK/$1-ns/knot.conf") ;;
  esac
  # Preferred busy polling wants the interface to hold its interrupts back between the
  # worker's polls (what gslbd advises); every other server runs with veth's defaults.
  local sysfs=/sys/class/net/srv0 defer=0 flush=0
  if [ "$1" = gslbd_xdp_bp ]; then defer=2 flush=200000; fi
  ip netns exec "$NS_SRV" sh -c "echo $defer > $sysfs/napi_defer_hard_irqs; echo $flush > $sysfs/gro_flush_timeout"
  ip netns exec "$NS_SRV" taskset -c "$SERVER_CPU" "${cmd[@]}" >"$WORK/$1.ns.log" 2>&1 &
  SPID=$!
  PIDS+=("$SPID")
  for _ in $(seq 1 100); do
    if ip netns exec "$NS_GEN" dig +time=1 +tries=1 @"$SRV_ADDR" -p "$XDP_PORT" www.example.test +short 2>/dev/null | grep -q 192.0.2.10; then
      taskset -a -p -c "$SERVER_CPU" "$SPID" >/dev/null
      pin_napi
      return 0
    fi
    sleep 0.1
  done
  echo "$1 did not answer in the server namespace; its log:" >&2
  cat "$WORK/$1.ns.log" >&2
  exit 1
}
# Knot leaves its XDP program attached when it stops (for a quick restart): take it off, or
# the next server could not attach its own. gslbd's goes with its process.
stop_ns() {
  kill "$SPID" 2>/dev/null || true
  wait "$SPID" 2>/dev/null || true
  ip -n "$NS_SRV" link set dev srv0 xdp off
}
busy() { awk -v c="cpu$SERVER_CPU" '$1 == c { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
RESULTS="$WORK/xdp-results.txt"
: >"$RESULTS"
for ROUND in $(seq 1 "$ROUNDS"); do
  echo "round $ROUND/$ROUNDS (veth)" >&2
  for s in $XSERVERS; do
    start_in_ns "$s"
    # Each XDP server must really be on its XDP path, every round.
    case $s in
      gslbd_xdp | gslbd_xdp_bp) want='answering UDP DNS through AF_XDP' ;;
      knot_xdp) want='initialized XDP interface srv0' ;;
      *) want='' ;;
    esac
    if [ -n "$want" ]; then
      if ! grep -q "$want" "$WORK/$s.ns.log"; then
        echo "$s is not on its XDP path; its log:" >&2
        cat "$WORK/$s.ns.log" >&2
        exit 1
      fi
      [ "$ROUND" = 1 ] && grep -m1 "$want" "$WORK/$s.ns.log" >&2
    fi
    for w in static geo; do
      case $s:$w in knot*:geo) continue ;; esac
      b0=$(busy); p0=$(ticks "$SPID")
      out=$(TARGET=$SRV_ADDR ip netns exec "$NS_GEN" taskset -c "$LOAD_CPU" "$BIN/examples/loadgen" "$XDP_PORT" "$DATA/queries/$w.bin" "$DURATION" "$XDP_WINDOW" 4 32)
      b1=$(busy); p1=$(ticks "$SPID")
      n=$(sed 's/.*answered=\([0-9]*\).*/\1/' <<<"$out")
      awk -v s="$s" -v w="$w" -v o="$out" -v b=$((b1 - b0)) -v p=$((p1 - p0)) -v n="$n" -v c="$CLK" -v r="$ROUND" \
        'BEGIN { n = n > 0 ? n : 1; printf "%s %s %s cpu_us=%.3f proc_us=%.3f round=%s\n", s, w, o, b / c * 1e6 / n, p / c * 1e6 / n, r }' >>"$RESULTS"
    done
    stop_ns
  done
done

echo
echo "machine: $(nproc) CPUs, $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ //'), $(uname -r)"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ), rounds: $ROUNDS x ${DURATION}s, window $XDP_WINDOW, veth pair between two namespaces, server on CPU $SERVER_CPU (with its NAPI thread), load on CPU $LOAD_CPU"
python3 - "$RESULTS" <<'PY'
import statistics, sys
rows = []
for line in open(sys.argv[1]):
    f = line.split()
    d = dict(kv.split("=", 1) for kv in f[2:] if "=" in kv)
    d["server"], d["workload"] = f[0], f[1]
    rows.append(d)
def med(server, workload, key):
    v = [float(r[key]) for r in rows if r["server"] == server and r["workload"] == workload]
    return (statistics.median(v), min(v), max(v)) if v else None
print(f"{'server':12} {'workload':8} {'qps':>9} {'lost':>6} {'cpu_us/q':>9} {'[min-max]':>15} {'proc_us/q':>10}")
for s in ["gslbd_xdp", "gslbd_xdp_bp", "gslbd", "knot_xdp", "knot"]:
    for w in ["static", "geo"]:
        c = med(s, w, "cpu_us")
        if not c:
            continue
        q, l, p = med(s, w, "qps"), med(s, w, "lost"), med(s, w, "proc_us")
        print(f"{s:12} {w:8} {q[0]:9.0f} {l[0]:6.0f} {c[0]:9.3f} {f'[{c[1]:.3f}-{c[2]:.3f}]':>15} {p[0]:10.3f}")
def ratios(a, b, w):
    by = {}
    for r in rows:
        if r["workload"] == w and r["server"] in (a, b):
            by.setdefault(r["round"], {})[r["server"]] = float(r["cpu_us"])
    v = [x[a] / x[b] for x in by.values() if a in x and b in x]
    return v
print("CPU per answered query, per-round ratios (median [min-max]):")
for a, b, w in [("gslbd_xdp", "gslbd", "static"), ("gslbd_xdp", "gslbd", "geo"),
                ("gslbd_xdp_bp", "gslbd", "static"), ("gslbd_xdp_bp", "gslbd", "geo"),
                ("gslbd_xdp", "knot_xdp", "static"), ("gslbd_xdp_bp", "knot_xdp", "static"), ("knot_xdp", "knot", "static"),
                ("gslbd", "knot", "static")]:
    v = ratios(a, b, w)
    if v:
        print(f"  {a}/{b} {w:6}: {statistics.median(v):.3f} [{min(v):.3f}-{max(v):.3f}]")
PY
