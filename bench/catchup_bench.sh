#!/usr/bin/env bash
# Catch-up benchmark: the generated estate is on the input topics before `noisegate run`
# starts (a restart after an outage), on a real broker started here on 127.0.0.1. Prints what
# the changelog took: bytes written in all and in the largest commit (sampled from /metrics
# every 0.2 s), and the most records the merge held at once.
#
#   bash bench/catchup_bench.sh          # SCALE=4 (~250k records)
# Needs a build (bash tools/build.sh). A benchmark, not a test: the machine is shared and noisy.
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${SCALE:-4}
B=build
source bench/lib.sh
bench_work ng-catchup-bench
bench_broker
bench_estate "$SCALE"
printf 'partitions: 6\ncommit_interval: 300ms\nmetrics_listen: 127.0.0.1:0\n' >"$work/c.yaml"
$B/noisegate topics --config "$work/c.yaml" 2>/dev/null
$B/ng-load -b "$bootstrap" "${dumps[@]}" 2>/dev/null
$B/noisegate run --rules examples/rules.yaml --config "$work/c.yaml" 2>"$work/ng.log" &
ng=$!
for _ in $(seq 300); do grep -q 'event=admin_server' "$work/ng.log" && break; sleep 0.1; done
port=$(sed -n 's/.*event=admin_server .*port=\([0-9]*\).*/\1/p' "$work/ng.log")
metric() { bench_metric "$port" "$1"; }
committed='noisegate_kafka_transactions_total\{result="committed"'
prev_bytes=0 prev_tx=0 largest=0 most_buffered=0
deadline=$((SECONDS + 600))
while (($(metric noisegate_decisions_total) < expect)); do
  ((SECONDS < deadline)) || { echo "catchup_bench: not every record was decided"; exit 1; }
  bytes=$(metric noisegate_changelog_written_bytes_total)
  tx=$(metric "$committed")
  buffered=$(metric noisegate_correlate_buffered_records)
  ((buffered > most_buffered)) && most_buffered=$buffered
  if ((tx > prev_tx)); then
    per=$(((bytes - prev_bytes) / (tx - prev_tx)))
    ((per > largest)) && largest=$per
    prev_bytes=$bytes prev_tx=$tx
  fi
  sleep 0.2
done
echo "catch-up of $expect records: $(metric "$committed") transactions," \
  "changelog $(metric noisegate_changelog_written_bytes_total) bytes written," \
  "largest commit ~$largest bytes, at most $most_buffered records held in the merge"
