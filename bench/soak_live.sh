#!/usr/bin/env bash
# Soak benchmark through live on a real broker (started here on 127.0.0.1): the pod and
# log-template churn of bench/soak.sh (bench/soak_gen.py, every firing a new pod) streamed
# through `noisegate run` with exactly-once, for 1, 10 and 30 days of event time, each on a
# fresh broker at RATE messages/s (default 5000; the broker takes event times up to 30 days ahead). Prints noisegate's peak RSS, the fingerprints
# its engines hold at the end, changelog bytes written per committed transaction, and what a
# restart reads back (the newest value of each changelog key) and how long that takes.
# Memory and checkpoints must follow what is active, not the days gone by.
#
#   bash bench/soak_live.sh [RULES]      # default examples/rules.yaml
# Needs a build (bash tools/build.sh). A benchmark, not a test: the machine is shared and noisy.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_work ng-soak-live
B=build
rules=${1:-examples/rules.yaml}
RATE=${RATE:-5000}
metric() { bench_metric "$port" "$1"; }
start() {
  $B/noisegate run --rules "$rules" --config "$work/run.yaml" 2>>"$work/ng.log" &
  ng=$!
  for _ in $(seq 600); do (($(grep -c 'event=assigned' "$work/ng.log") > $1)) && break; sleep 0.1; done
  port=$(sed -n 's/.*event=admin_server .*port=\([0-9]*\).*/\1/p' "$work/ng.log" | tail -1)
}
cat >"$work/run.yaml" <<EOF2
partitions: 6
group: soak
metrics_listen: 127.0.0.1:0
EOF2
printf '%5s %9s %13s %11s %15s %16s %10s\n' days records peak_rss_kib fp_held changelog_B/tx restored_state_B restore_s
for days in ${DAYS:-1 10 30}; do
  python3 bench/soak_gen.py --days "$days" --reuse 1 --alerts "$work/a.jsonl" --logs "$work/l.jsonl"
  expect=$($B/noisegate replay -q --rules "$rules" --explain /dev/stdout "$work/a.jsonl" "$work/l.jsonl" 2>/dev/null | wc -l)
  tests/kafka/kafka.sh stop "$work/kafka" >/dev/null 2>&1 || true
  rm -rf "$work/kafka" "$work/ng.log"
  bootstrap=$(KAFKA_EXTRA_PROPS=$'num.partitions=3\nlog.retention.ms=-1\nlog.message.timestamp.after.max.ms=9223372036854775807' tests/kafka/kafka.sh start "$work/kafka" 2>/dev/null)
  export NOISEGATE_KAFKA_BOOTSTRAP_SERVERS=$bootstrap
  $B/noisegate topics --config "$work/run.yaml" 2>/dev/null
  start 0
  $B/ng-load -b "$bootstrap" --rate "$RATE" "$work/a.jsonl" "$work/l.jsonl" 2>"$work/load.log" || { tail -n 5 "$work/load.log"; exit 1; }
  deadline=$((SECONDS + 1800))
  while (($(metric noisegate_decisions_total) < expect)); do
    ((SECONDS < deadline)) || { echo "soak_live: records were not decided"; exit 1; }
    sleep 1
  done
  sleep 3  # the last commit
  rss=$(awk '/VmHWM/ {print $2}' "/proc/$ng/status")
  held=$(metric noisegate_state_entries'\{kind="fingerprints"')
  bytes=$(metric noisegate_changelog_written_bytes_total)
  tx=$(metric 'noisegate_kafka_transactions_total\{result="committed"')
  kill -TERM "$ng" && wait "$ng" || true
  ng=""
  start 1
  for _ in $(seq 600); do (($(grep -c 'event=restored' "$work/ng.log") >= 12)) && break; sleep 0.2; done
  kill -TERM "$ng" && wait "$ng" || true
  ng=""
  read -r state secs < <(grep 'event=restored' "$work/ng.log" | tail -6 | awk '{
      for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
      state += v["state_bytes"]; ms = v["ms"]; load += v["load_ms"] }
    END { printf "%d %.2f\n", state, (ms + load) / 1000 }')
  printf '%5s %9s %13s %11s %15.0f %16s %10s\n' "$days" "$expect" "$rss" "$held" \
    "$(awk -v b="$bytes" -v t="$tx" 'BEGIN {print b / t}')" "$state" "$secs"
done
