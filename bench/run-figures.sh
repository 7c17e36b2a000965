#!/usr/bin/env bash
# Reproduce the figures of docs/benchmarks.md on one machine, in one run.
#
#   bench/run-figures.sh [OUTDIR]
#
# Servers: hubbub (standard asyncio loop, and uvloop), InspIRCd and ngIRCd from Debian
# (/usr/sbin/inspircd, /usr/sbin/ngircd), each with its flood and per-IP limits off
# (configs in bench/configs/). The hubbubs compared with them keep no history, as they
# keep none; "hubbub-history" is hubbub with uvloop keeping history in a SQLite file
# (a fresh one for each scenario), which runs only the scenarios in HISTORY_SCENARIOS,
# the history ones among them ("hubbub-onloop-history", put in SERVERS, is the same
# with store.commit_on_loop). Every server runs on core $SERVER_CPU and the load
# generator on core $GEN_CPU (taskset), both at nice $NICE, with $NOFILE descriptors.
# Each scenario starts a fresh server and stops it afterwards; every run is bounded
# by --time-limit. The servers take turns scenario by scenario, so that whatever
# else the machine does meanwhile disturbs them alike. Results: one JSON file per
# server and scenario in OUTDIR, a Markdown summary (summary.md), the machine
# description (machine.txt), and, when py-spy is installed, a profile of hubbub under
# fanout load (profile/). docs/benchmarks.md was made with NICE=-5.
#
# Environment: SERVER_CPU (0), GEN_CPU (1), NICE (0), NOFILE (20000), PYTHON (python3),
# BASE (a git revision: adds "hubbub-base", that revision's hubbub with uvloop, and
# "hubbub-base-history", the same keeping history, to compare a change with what it
# changed; put them in SERVERS), "hubbub-nagle" in SERVERS adds hubbub-uvloop with
# limits.tcp_nodelay=false (Nagle's algorithm left on, as InspIRCd and ngIRCd leave
# it), "floor" in SERVERS adds bench/floor.py, the least a Python server on uvloop can
# do for the fanouts at a fixed rate and the pingpong (a yardstick for what hubbub's
# own code costs; it runs no other scenario; "floor-nagle" is it with TCP_NODELAY
# off), SERVERS ("hubbub-asyncio hubbub-uvloop
# hubbub-history inspircd ngircd", plus hubbub-base when BASE is set), SCENARIOS (all of
# "fanout-n100-max fanout-n1000-max fanout-ws-n1000-max fanout-n100-r200
# fanout-ws-n100-r200 fanout-n100-r200-s400 fanout-n100-r200-stalled fanout-n1000-r50
# fanout-n300-r200 connect-1000 connect-10000 pingpong history-store-max
# history-latency"; the -stalled one has 10 members stop reading; the -ws- ones have the clients speak IRC
# over WebSocket, hubbub-asyncio and hubbub-uvloop only), HISTORY_SCENARIOS (those
# the hubbubs keeping history run: "fanout-n100-max fanout-n100-r200 pingpong
# history-store-max history-latency"), HISTORY_MESSAGES (1000000: the big channel of
# history-latency), CLUSTER_SCENARIOS (those the clusters "hubbub-cluster1",
# "hubbub-cluster2" and "hubbub-cluster3" run, when put in SERVERS: N nodes and their
# redis-server, all on the server's core: "fanout-n100-max fanout-n300-r200 pingpong";
# fanout-n300-r200 runs only for them and hubbub-uvloop), RETRIES (2: re-runs of a find-max trial that failed while other
# processes were busy), QUICK=1 for a smoke run with tiny budgets, PROFILE=0 to skip the
# profile.
set -euo pipefail

cd "$(dirname "$0")/.."
OUT=${1:-bench/results/$(date -u +%Y%m%dT%H%M%SZ)}
SERVER_CPU=${SERVER_CPU:-0}
GEN_CPU=${GEN_CPU:-1}
NICE=${NICE:-0}
NOFILE=${NOFILE:-20000}
PYTHON=${PYTHON:-python3}
BASE=${BASE:-}
SERVERS=${SERVERS:-"hubbub-asyncio hubbub-uvloop hubbub-history ${BASE:+hubbub-base }inspircd ngircd"}
QUICK=${QUICK:-0}
PROFILE=${PROFILE:-1}
SCENARIOS=${SCENARIOS:-"fanout-n100-max fanout-n1000-max fanout-ws-n1000-max fanout-n100-r200 fanout-ws-n100-r200 fanout-n100-r200-s400 fanout-n100-r200-stalled fanout-n1000-r50 fanout-n300-r200 connect-1000 connect-10000 pingpong history-store-max history-latency"}
HISTORY_SCENARIOS=${HISTORY_SCENARIOS:-"fanout-n100-max fanout-n100-r200 pingpong history-store-max history-latency"}
HISTORY_MESSAGES=${HISTORY_MESSAGES:-1000000}
# a cluster of N nodes and its Redis, all on the server's core: what clustering costs
# (SERVERS="hubbub-uvloop hubbub-cluster1 hubbub-cluster2 hubbub-cluster3")
CLUSTER_SCENARIOS=${CLUSTER_SCENARIOS:-"fanout-n100-max fanout-n300-r200 pingpong"}
RETRIES=${RETRIES:-2}
INSPIRCD_PORT=${INSPIRCD_PORT:-16667}
NGIRCD_PORT=${NGIRCD_PORT:-16668}

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d /tmp/hubbub-figures.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# The tree may change while this runs (someone editing, a checkout): benchmark a copy
# of it, taken now, and run from there so that `python -m hubbub` imports the copy.
SNAP="$WORK/snapshot"
mkdir -p "$SNAP"
cp -r hubbub "$SNAP/"
cp bench/floor.py "$SNAP/"
find "$SNAP" -name __pycache__ -prune -exec rm -rf {} +
SOURCE_HASH=$(cd "$SNAP" && find hubbub -name '*.py' | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-12)
if [ -n "$BASE" ]; then  # the revision to compare with, in a directory of its own
    mkdir -p "$WORK/base"
    git archive "$BASE" hubbub | tar -x -C "$WORK/base"
    BASE=$(git rev-parse --short "$BASE")
fi
REVISION="$(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- hubbub bench/floor.py 2>/dev/null || echo '+uncommitted')"

# A system instance would compete for the cores (and maybe the ports): stop it first.
for daemon in inspircd ngircd; do
    if pgrep -x "$daemon" >/dev/null; then
        echo "stopping the system's $daemon" >&2
        service "$daemon" stop >/dev/null 2>&1 || systemctl stop "$daemon" >/dev/null 2>&1 || true
    fi
done
for port in "$INSPIRCD_PORT" "$NGIRCD_PORT"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "port $port is in use; set INSPIRCD_PORT / NGIRCD_PORT" >&2
        exit 1
    fi
done

echo "Benchmark server. Be kind." >"$WORK/motd.txt"
sed -e "s#@PORT@#$INSPIRCD_PORT#g" -e "s#@DIR@#$WORK#g" bench/configs/inspircd.conf.in >"$WORK/inspircd.conf"
sed -e "s#@PORT@#$NGIRCD_PORT#g" -e "s#@DIR@#$WORK#g" bench/configs/ngircd.conf.in >"$WORK/ngircd.conf"
cd "$SNAP"

PIN_SERVER="taskset -c $SERVER_CPU nice -n $NICE prlimit --nofile=$NOFILE:$NOFILE"
PIN_GEN="taskset -c $GEN_CPU nice -n $NICE prlimit --nofile=$NOFILE:$NOFILE"
SERVE="$PYTHON -m hubbub serve --listen 127.0.0.1:0 --no-web --set limits.flood_control=false --set limits.max_clients_per_ip=0 --set limits.max_clients=0 --set limits.sendq=16777216 --set limits.send_buffer=0"
HUBBUB="$SERVE --db :memory: --set history.enabled=false"  # keeps nothing, like the C servers
HISTORY_DB="$WORK/history.db"
HISTORY="$SERVE --db $HISTORY_DB --set history.enabled=true"

declare -A CMD CONNECT
CMD[hubbub-asyncio]="$PIN_SERVER $HUBBUB --loop asyncio"
CMD[hubbub-uvloop]="$PIN_SERVER $HUBBUB --loop uvloop"
CMD[hubbub-nagle]="$PIN_SERVER $HUBBUB --set limits.tcp_nodelay=false --loop uvloop"  # Nagle on, as the C servers
CMD[hubbub-history]="$PIN_SERVER $HISTORY --loop uvloop"
CMD[hubbub-onloop-history]="$PIN_SERVER $HISTORY --set store.commit_on_loop=true --loop uvloop"
declare -A CLUSTER
for nodes in 1 2 3; do
    CMD[hubbub-cluster$nodes]="$PIN_SERVER $HUBBUB --loop uvloop"  # each node's command; bench adds --cluster
    CLUSTER[hubbub-cluster$nodes]="--cluster $nodes"
done
# `python -m hubbub` imports the hubbub of its working directory: run the base from its own.
# An older revision is given only the settings it knows: one from before the store has no
# history setting (and keeps nothing), one from before limits.send_buffer left socket
# buffers to the kernel anyway.
BASE_SERVE=$SERVE
BASE_HUBBUB=$HUBBUB
if [ -n "$BASE" ]; then
    if ! grep -q "send_buffer" "$WORK/base/hubbub/config.py"; then
        BASE_SERVE=${SERVE/ --set limits.send_buffer=0/}
    fi
    BASE_HUBBUB="$BASE_SERVE --db :memory: --set history.enabled=false"
    if ! grep -q "class HistorySection" "$WORK/base/hubbub/config.py"; then
        BASE_HUBBUB="$BASE_SERVE --db :memory:"
    fi
fi
CMD[hubbub-base]="env -C $WORK/base $PIN_SERVER $BASE_HUBBUB --loop uvloop"
CMD[hubbub-base-history]="env -C $WORK/base $PIN_SERVER $BASE_SERVE --db $HISTORY_DB --set history.enabled=true --loop uvloop"
CMD[floor]="$PIN_SERVER $PYTHON $SNAP/floor.py"  # the yardstick: bench/floor.py, no chat server's work
CMD[floor-nagle]="$PIN_SERVER $PYTHON $SNAP/floor.py --nagle"
CMD[inspircd]="$PIN_SERVER /usr/sbin/inspircd --nofork --runasroot --config=$WORK/inspircd.conf"
CONNECT[inspircd]="--connect 127.0.0.1:$INSPIRCD_PORT"
CMD[ngircd]="$PIN_SERVER /usr/sbin/ngircd --nodaemon --passive -f $WORK/ngircd.conf"
CONNECT[ngircd]="--connect 127.0.0.1:$NGIRCD_PORT"
# Registrations in flight while a fanout room is set up (not measured, only waited
# for): InspIRCd completes registrations on a once-a-second tick, so it wants many;
# ngIRCd listens with a backlog of 10 and drops the SYNs beyond, so it wants few.
declare -A SETUP
SETUP[inspircd]="--concurrency 250"
SETUP[ngircd]="--concurrency 8"

{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "kernel: $(uname -srm)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') x $(nproc)"
    echo "memory: $(free -m | awk '/Mem:/ {print $2 " MiB"}')"
    echo "python: $($PYTHON --version 2>&1), uvloop $($PYTHON -c 'import uvloop; print(uvloop.__version__)' 2>/dev/null || echo none)"
    echo "hubbub: $($PYTHON -c 'import hubbub; print(hubbub.__version__)') from $($PYTHON -c 'import hubbub, os; print(os.path.dirname(hubbub.__file__))'), revision $REVISION, source sha256 $SOURCE_HASH"
    [ -n "$BASE" ] && echo "hubbub-base: revision $BASE"
    echo "inspircd: $(dpkg-query -W -f='${Version}' inspircd 2>/dev/null || echo '?')"
    echo "ngircd: $(dpkg-query -W -f='${Version}' ngircd 2>/dev/null || echo '?')"
    echo "server core: $SERVER_CPU, generator core: $GEN_CPU, nice: $NICE, nofile: $NOFILE"
    echo "loadavg at start: $(cat /proc/loadavg)"
} >"$OUT/machine.txt"
cat "$OUT/machine.txt" >&2

if [ "$QUICK" = 1 ]; then
    FIND_100="-d 1 --start-rate 100 --max-time 10 --max-trials 3 --retries 0"
    FIND_1000="-d 1 --start-rate 25 --max-time 10 --max-trials 3 --retries 0"
    FIXED_D="-d 2"
    CONNECT_BIG=2000
    ROUNDS=1000
    FIND_STORE="-d 1 --start-rate 1250 --max-time 10 --max-trials 3 --retries 0"
    HISTORY_SIZE="--messages 20000 --other-messages 1000 --queries 20"
else
    FIND_100="-d 4 --start-rate 800 --max-time 120 --retries $RETRIES"  # the ladder of 100, from 800: time to bisect
    FIND_1000="-d 4 --start-rate 25 --max-time 90 --retries $RETRIES"
    FIXED_D="-d 10"
    CONNECT_BIG=10000
    ROUNDS=5000
    FIND_STORE="-d 4 --start-rate 1250 --max-time 90 --retries $RETRIES"
    HISTORY_SIZE="--messages $HISTORY_MESSAGES --queries 200"
fi

# bench NAME RESULT SCENARIO [OPTIONS...]: one scenario against a fresh server.
bench() {
    local name=$1 result=$2
    shift 2
    case " $SCENARIOS " in
        *" ${result/-$CONNECT_BIG/-10000} "*) ;;
        *) return 0 ;;
    esac
    case "$name:$result" in  # history: only hubbub keeps it, and then only these scenarios
        hubbub-*history:*) case " $HISTORY_SCENARIOS " in *" $result "*) ;; *) return 0 ;; esac ;;
        hubbub-cluster*:*) case " $CLUSTER_SCENARIOS " in *" $result "*) ;; *) return 0 ;; esac ;;
        *:history-*) return 0 ;;
        floor*:fanout-n100-r200 | floor*:fanout-n1000-r50 | floor*:pingpong) ;;
        floor*:*) return 0 ;;  # the yardstick only relays: no limits, no WebSocket, no registrations to count
        hubbub-uvloop:fanout-n300-r200) ;;
        *:fanout-n300-r200) return 0 ;;  # the cluster's comparison: hubbub alone and clustered
    esac
    rm -f "$HISTORY_DB" "$HISTORY_DB"-wal "$HISTORY_DB"-shm "$HISTORY_DB".lock  # every scenario starts empty
    echo "== $name: $result ($*)" >&2
    # shellcheck disable=SC2086  # CONNECT holds two words on purpose
    if ! $PIN_GEN "$PYTHON" -m hubbub.bench "$@" --label "$name" --server-cmd "${CMD[$name]}" \
        ${CONNECT[$name]:-} ${CLUSTER[$name]:-} --time-limit 400 --server-log "$OUT/$name-$result.log" \
        --output "$OUT/$name-$result.json" >"$OUT/$name-$result.txt"; then
        echo "   $name $result failed; see $OUT/$name-$result.log" >&2
    fi
    sed 's/^/   /' "$OUT/$name-$result.txt" >&2 || true
}

# bench_ws NAME RESULT SCENARIO [OPTIONS...]: the same with the clients speaking IRC over
# WebSocket to hubbub's web listener (/webirc), hubbub alone only (no history, no cluster).
bench_ws() {
    local name=$1 saved
    case "$name" in hubbub-asyncio | hubbub-uvloop) ;; *) return 0 ;; esac
    saved=${CMD[$name]}
    CMD[$name]=${saved/--no-web/--web 127.0.0.1:0}
    bench "$@" --transport websocket
    CMD[$name]=$saved
}

# shellcheck disable=SC2086
{
    for name in $SERVERS; do
        bench "$name" fanout-n100-max fanout --find-max -n 100 -k 10 $FIND_100 ${SETUP[$name]:-}
    done
    for name in $SERVERS; do
        bench "$name" fanout-n1000-max fanout --find-max -n 1000 -k 10 $FIND_1000 ${SETUP[$name]:-}
    done
    for name in $SERVERS; do
        bench_ws "$name" fanout-ws-n1000-max fanout --find-max -n 1000 -k 10 $FIND_1000
    done
    for name in $SERVERS; do
        bench "$name" fanout-n100-r200 fanout -n 100 -k 10 -r 200 $FIXED_D ${SETUP[$name]:-}
    done
    for name in $SERVERS; do
        bench_ws "$name" fanout-ws-n100-r200 fanout -n 100 -k 10 -r 200 $FIXED_D
    done
    # a stalled reader: 10 members that stop reading, 400-byte messages so that their
    # kernel buffers fill within seconds; the others' latency beside the same load without
    for name in $SERVERS; do
        bench "$name" fanout-n100-r200-s400 fanout -n 100 -k 10 -r 200 --size 400 $FIXED_D ${SETUP[$name]:-}
    done
    for name in $SERVERS; do
        bench "$name" fanout-n100-r200-stalled fanout -n 100 -k 10 -r 200 --size 400 --stalled 10 $FIXED_D \
            ${SETUP[$name]:-}
    done
    for name in $SERVERS; do
        bench "$name" fanout-n1000-r50 fanout -n 1000 -k 10 -r 50 $FIXED_D ${SETUP[$name]:-}
    done
    for name in $SERVERS; do bench "$name" fanout-n300-r200 fanout -n 300 -k 10 -r 200 $FIXED_D; done
    for name in $SERVERS; do bench "$name" connect-1000 connect -c 1000 --concurrency 100 --idle 3; done
    for name in $SERVERS; do
        bench "$name" connect-$CONNECT_BIG connect -c "$CONNECT_BIG" --concurrency 1000 --idle 5
    done
    for name in $SERVERS; do bench "$name" pingpong pingpong --rounds "$ROUNDS"; done
    # messages stored per second: every message is stored, the database counted afterwards
    for name in $SERVERS; do
        bench "$name" history-store-max store --find-max -n 10 -k 5 $FIND_STORE --db "$HISTORY_DB"
    done
    # LATEST, BEFORE and SEARCH round trips on a big history, filled first through the store
    for name in $SERVERS; do bench "$name" history-latency history $HISTORY_SIZE --db "$HISTORY_DB"; done
}

# Where hubbub's time goes: py-spy samples the server during a fixed-rate fanout at N=1000.
if [ "$PROFILE" = 1 ] && command -v py-spy >/dev/null; then
    mkdir -p "$OUT/profile"
    for loop in asyncio uvloop; do
        log="$WORK/profile-$loop.log"
        # shellcheck disable=SC2086
        $PIN_SERVER $HUBBUB --loop "$loop" >"$log" 2>&1 &
        server=$!
        port=""
        for _ in $(seq 100); do
            port=$(grep -o 'listening irc 127.0.0.1:[0-9]*' "$log" | cut -d: -f2 || true)
            [ -n "$port" ] && break
            sleep 0.1
        done
        if [ -z "$port" ]; then
            echo "profile: hubbub did not start" >&2
            kill "$server" 2>/dev/null || true
            continue
        fi
        rate=${PROFILE_RATE:-200}
        echo "== profile: hubbub-$loop, fanout -n 1000 -r $rate under py-spy" >&2
        $PIN_GEN "$PYTHON" -m hubbub.bench fanout -n 1000 -k 10 -r "$rate" -d 20 --connect "127.0.0.1:$port" \
            --server-pid "$server" --label "hubbub-$loop-profiled" --time-limit 200 \
            --output "$OUT/profile/$loop-fanout.json" >"$OUT/profile/$loop-fanout.txt" &
        gen=$!
        sleep 8  # registration and the JOIN storm are not the hot path: skip them
        timeout 60 py-spy record --pid "$server" --duration 12 --rate 250 --format raw \
            --output "$OUT/profile/$loop.folded" >/dev/null 2>&1 || echo "profile: py-spy failed" >&2
        wait "$gen" || true
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
        if [ -s "$OUT/profile/$loop.folded" ]; then
            "$PYTHON" - "$OUT/profile/$loop.folded" >"$OUT/profile/$loop.txt" <<'EOF'
"""Self time and inclusive time per function from py-spy's folded stacks."""
import collections
import sys

self_time = collections.Counter()
total_time = collections.Counter()
samples = 0
for line in open(sys.argv[1], encoding="utf-8"):
    stack, _, count = line.rstrip("\n").rpartition(" ")
    n = int(count)
    samples += n
    frames = [f.split(" (")[0] + " (" + f.split(" (")[1].split(":")[0].split("/")[-1] + ")"
              if " (" in f else f for f in stack.split(";")]
    self_time[frames[-1]] += n
    for frame in set(frames):
        total_time[frame] += n
print(f"{samples} samples")
print("\nself time (top 25):")
for frame, n in self_time.most_common(25):
    print(f"{100 * n / samples:6.1f}%  {frame}")
print("\ninclusive time (top 40):")
for frame, n in total_time.most_common(40):
    print(f"{100 * n / samples:6.1f}%  {frame}")
EOF
        fi
    done
fi

"$PYTHON" -m hubbub.bench summary "$OUT"/*-*.json >"$OUT/summary.md"
echo "loadavg at end: $(cat /proc/loadavg)" >>"$OUT/machine.txt"
echo "results in $OUT (summary.md)" >&2
