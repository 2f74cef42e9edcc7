#!/usr/bin/env bash
# Changelog benchmark on a real Kafka broker (started here on 127.0.0.1): what per-entry
# checkpoints cost when the state is large. Three phases on one noisegate instance:
#   1. load: FPS distinct firing alerts (default 1,000,000; bench/changelog_gen.py), so the
#      engines hold that many active fingerprints;
#   2. churn: REPEAT messages of 250 random alerts each, CHURN_RATE messages per second (default
#      10: 2,500 alerts/s), later in event time: a steady estate, where each commit changes a
#      small part of the state. Prints changelog bytes and messages written per committed
#      transaction, next to the state's size;
#   3. restore: noisegate stopped and started again; prints the restore time of all its
#      partitions (the `event=restored ... ms=` log line) and what it read;
# before the restore, the changelog (16 MB segments here) is left to the broker's log cleaner, and
# its size before and after is printed.
#
#   bash bench/changelog_bench.sh            # FPS=1000000 REPEAT=200
#   FPS=200000 bash bench/changelog_bench.sh
#   PERF=/tmp/restore.perf bash bench/changelog_bench.sh   # and a perf profile of the restore
# Needs a build (bash tools/build.sh). A benchmark, not a test: the machine is shared and noisy.
set -euo pipefail
cd "$(dirname "$0")/.."
FPS=${FPS:-1000000}
REPEAT=${REPEAT:-200}
CHURN_RATE=${CHURN_RATE:-10}
B=build
source bench/lib.sh
bench_work ng-changelog-bench
bootstrap=$(KAFKA_EXTRA_PROPS=$'num.partitions=3\nlog.retention.ms=-1\nlog.cleaner.backoff.ms=1000' \
  tests/kafka/kafka.sh start "$work/kafka" 2>/dev/null)
export NOISEGATE_KAFKA_BOOTSTRAP_SERVERS=$bootstrap
rules=bench/changelog_rules.yaml
# Segments of 16 MB, cleaned as soon as they roll: the restore reads a compacted changelog.
cat >"$work/run.yaml" <<EOF2
partitions: 6
group: changelog-bench
metrics_listen: 127.0.0.1:0
changelog_config: {segment.bytes: "16777216", min.cleanable.dirty.ratio: "0.01", min.compaction.lag.ms: "0"}
EOF2
python3 bench/changelog_gen.py --fingerprints "$FPS" --phase load >"$work/load.jsonl"
python3 bench/changelog_gen.py --fingerprints "$FPS" --phase churn --repeat "$REPEAT" >"$work/churn.jsonl"
$B/noisegate topics --config "$work/run.yaml" 2>/dev/null
metric() { bench_metric "$port" "$1"; }
start() {
  $B/noisegate run --rules "$rules" --config "$work/run.yaml" 2>>"$work/ng.log" &
  ng=$!
  for _ in $(seq 600); do grep -q 'event=assigned' "$work/ng.log" && break; sleep 0.1; done
  port=$(sed -n 's/.*event=admin_server .*port=\([0-9]*\).*/\1/p' "$work/ng.log" | tail -1)
}
# Waits until noisegate has decided `want` records in all.
decided() {
  local want=$1 deadline=$((SECONDS + 1800))
  while (($(metric noisegate_decisions_total) < want)); do
    ((SECONDS < deadline)) || { echo "changelog_bench: records were not decided"; exit 1; }
    sleep 1
  done
  sleep 3  # the last commit
}
start
$B/ng-load -b "$bootstrap" "$work/load.jsonl" 2>"$work/load.log"
decided "$FPS"
fps=$(metric noisegate_state_entries'\{kind="fingerprints"')
echo "load: $FPS alerts decided; engines hold $fps fingerprints, $(metric noisegate_state_entries'\{kind="incidents"') open incidents"
bytes0=$(metric noisegate_changelog_written_bytes_total)
msgs0=$(metric noisegate_changelog_written_messages_total)
tx0=$(metric 'noisegate_kafka_transactions_total\{result="committed"')
echo "  changelog written while loading: $bytes0 bytes in $msgs0 messages over $tx0 transactions"
$B/ng-load -b "$bootstrap" --rate "$CHURN_RATE" "$work/churn.jsonl" 2>"$work/churn.log"
decided $((FPS + REPEAT * 250))
bytes1=$(metric noisegate_changelog_written_bytes_total)
msgs1=$(metric noisegate_changelog_written_messages_total)
tx1=$(metric 'noisegate_kafka_transactions_total\{result="committed"')
awk -v b="$((bytes1 - bytes0))" -v m="$((msgs1 - msgs0))" -v t="$((tx1 - tx0))" -v r="$REPEAT" 'BEGIN {
  printf "churn: %d messages of 250 alerts; %d transactions; changelog %.0f bytes (%.0f messages) per transaction\n", r, t, b / t, m / t }'
kill -TERM "$ng" && wait "$ng" || true
ng=""
changelog_bytes() { find "$work"/kafka/data -path '*noisegate.changelog-*' -name '*.log' -printf '%s\n' | awk '{s += $1} END {print s}'; }
before=$(changelog_bytes)
# Until the log cleaner has done what it can (the active segments stay as they are).
last=0
for _ in $(seq 60); do
  sleep 5
  now=$(changelog_bytes)
  ((now == last)) && break
  last=$now
done
awk -v w="$bytes1" -v a="$before" -v b="$(changelog_bytes)" 'BEGIN {
  printf "compaction: %.1f MB written to the changelog in all; its segments on the broker: %.1f MB when noisegate stopped, %.1f MB once the cleaner was done\n", w / 1e6, a / 1e6, b / 1e6 }'
first=$(grep -c 'event=restored' "$work/ng.log")
start
perf_pid=""
if [[ -n ${PERF:-} ]]; then
  perf record -F 999 -g -o "$PERF" -p "$ng" 2>/dev/null &
  perf_pid=$!
fi
for _ in $(seq 1200); do (($(grep -c 'event=restored' "$work/ng.log") >= first + 6)) && break; sleep 0.2; done
if [[ -n $perf_pid ]]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; fi
restored=$(grep 'event=restored' "$work/ng.log" | tail -6)
awk '{for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
      msgs += v["changelog_messages"]; bytes += v["changelog_bytes"]; state += v["state_bytes"];
      fps += v["fingerprints"]; ms = v["ms"]; load += v["load_ms"] }
     END { printf "restore: %d fingerprints in %.2f s (all partitions together: %.2f s reading %d messages, %.1f MB, then %.2f s loading the engines; state %.1f MB)\n",
           fps, (ms + load) / 1000, ms / 1000, msgs, bytes / 1e6, load / 1000, state / 1e6 }' <<<"$restored"
kill -TERM "$ng" && wait "$ng" || true
ng=""
awk -v r="$restored" 'BEGIN {
  n = split(r, lines, "\n"); keep = 0
  for (i = 1; i <= n; i++) if (match(lines[i], /state_bytes=[0-9]+/)) keep += substr(lines[i], RSTART + 12, RLENGTH - 12)
  printf "changelog: the newest value of each key (what compaction keeps) is %.1f MB\n", keep / 1e6 }'
