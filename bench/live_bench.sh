#!/usr/bin/env bash
# End-to-end benchmark of `noisegate run` with exactly-once on a real Kafka broker (started
# here on 127.0.0.1, like the integration tests). ng-load streams the generated estate into
# the input topics at a fixed rate. One broker serves every run, each on its own topics (the
# inputs prefixed with the run's name, the rules' inputs renamed to match), after a warm-up run
# that is not reported: a fresh broker spends its first minute compiling its own hot paths
# (the JVM's JIT), about as much CPU again as taking in the input, which no running broker pays.
#   1. latency: with the explain topic on, ng-explain-latency reads it (read_committed) and
#      matches sampled inputs to the moment their decision became visible: input append ->
#      output committed (no group_wait in it: a record's decision is written when processed),
#      in the steady state: the load starts once noisegate is ready to ingest (its start-up,
#      reported apart, would otherwise be the latency of the first records); once with the
#      default commit interval (1 s), once with 100 ms;
#   2. cost: the production default (no explain topic); completion is read from /metrics. The
#      only replica skips the repartition hop (skip_repartition);
#   3. cost-hop: the same with the repartition hop taken (skip_repartition: false), records
#      batched: what each replica of several pays. cost-hop and cost run twice, alternately
#      (the broker keeps warming up for minutes: a later run is cheaper);
#   4. intake: the same input produced with no noisegate running, so the broker's cost of taking
#      in the input (which any consumer of these topics pays) can be told from the pipeline's.
# Each prints records/s and CPU seconds per million records for noisegate and the broker,
# next to the replay engine's CPU for the same records and outputs.
#
#   bash bench/live_bench.sh            # RATE=20000 messages/s, SCALE=4 (~250k records)
#   RATE=60000 SCALE=8 bash bench/live_bench.sh
#   PERF=/tmp/ng.perf bash bench/live_bench.sh   # and a perf profile of noisegate (run cost)
#   TIMELINE_DIR=/tmp/lat bash bench/live_bench.sh  # each latency sample: acked ms, latency ms, input
# Needs a build (bash tools/build.sh; BUILD_DIR=DIR takes the binaries from DIR instead). A benchmark, not a test: the machine is shared and noisy.
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-20000}
SCALE=${SCALE:-4}
B=${BUILD_DIR:-build}
source bench/lib.sh
bench_work ng-live-bench
bench_estate "$SCALE"

cpu() {  # utime + stime of PID in seconds
  awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"
}

# create_inputs PREFIX: the input topics, before noisegate subscribes to them (a metadata
# request auto-creates them, with the broker's 3 partitions); the consumer would otherwise
# find them only at its next metadata refresh, minutes later.
create_inputs() {
  local t
  for t in alerts.prometheus alerts.newrelic alerts.datadog logs.app; do
    for _ in $(seq 100); do
      kcat -b "$bootstrap" -L -t "$1$t" 2>/dev/null | grep -q 'with 3 partitions' && break
      sleep 0.1
    done
  done
}

# run NAME EXPLAIN(yes|no) [RUN CONFIG LINE]: one live run on its own topic set; prints its
# figures.
run() {
  local name=$1 explain=$2 extra=${3:-} port lat="" t0 t1 ng_cpu0 broker_cpu0 perf_pid=""
  sed "s/^\(  - topic: \)/\1$name./" examples/rules.yaml >"$work/$name.rules.yaml"
  cat >"$work/$name.yaml" <<EOF2
partitions: 6
group: bench-$name
topics:
  pages: $name.pages
  tickets: $name.tickets
  dead_letter: $name.dlq
  repartition: $name.repartition
  changelog: $name.changelog
  explain: $([[ $explain == yes ]] && echo "$name.explain" || echo '""')
metrics_listen: 127.0.0.1:0
$extra
EOF2
  $B/noisegate topics --config "$work/$name.yaml" 2>/dev/null
  create_inputs "$name."
  local started ready
  started=$(date +%s.%N)
  $B/noisegate run --rules "$work/$name.rules.yaml" --config "$work/$name.yaml" 2>"$work/$name.log" &
  ng=$!
  # Ready to ingest: assigned, and (the only replica) through the repartition topic's drain, so
  # that the latency measured is the steady state's; the start-up is reported apart.
  local ready_event='event=repartition_hop state=skipped'
  [[ $extra == *"skip_repartition: false"* ]] && ready_event='event=assigned'
  for _ in $(seq 600); do grep -q "$ready_event" "$work/$name.log" && break; sleep 0.05; done
  ready=$(date +%s.%N)
  port=$(sed -n 's/.*event=admin_server .*port=\([0-9]*\).*/\1/p' "$work/$name.log")
  local broker
  broker=$(cat "$work/kafka/kafka.pid")
  if [[ $name == cost && -n ${PERF:-} ]]; then
    perf record -F 499 -g -o "$PERF" -p "$ng" 2>/dev/null &
    perf_pid=$!
  fi
  ng_cpu0=$(cpu "$ng")
  broker_cpu0=$(cpu "$broker")
  if [[ $explain == yes ]]; then
    $B/ng-explain-latency -b "$bootstrap" -t "$name.explain" --sends "$work/sends.tsv" \
      --expect "$expect" ${TIMELINE_DIR:+--timeline "$TIMELINE_DIR/$name.tsv"} >"$work/latency.out" &
    lat=$!
  fi
  t0=$(date +%s.%N)
  $B/ng-load -b "$bootstrap" --rate "$RATE" --topic-prefix "$name." --sample "$work/sends.tsv" \
    --sample-every 50 "${dumps[@]}" 2>"$work/load.log"
  if [[ -n $lat ]]; then
    wait "$lat" || { echo "live_bench: not every decision arrived"; exit 1; }
  else
    local deadline=$((SECONDS + 600))
    while (($(bench_metric "$port" noisegate_decisions_total) < expect)); do
      ((SECONDS < deadline)) || { echo "live_bench: not every record was decided"; exit 1; }
      sleep 0.2
    done
  fi
  t1=$(date +%s.%N)
  if [[ -n $perf_pid ]]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; fi
  local ng_cpu broker_cpu
  ng_cpu=$(awk -v a="$ng_cpu0" -v b="$(cpu "$ng")" 'BEGIN {print b - a}')
  broker_cpu=$(awk -v a="$broker_cpu0" -v b="$(cpu "$broker")" 'BEGIN {print b - a}')
  last_cpu=$(awk -v a="$ng_cpu" -v b="$broker_cpu" 'BEGIN {print a + b}')
  local tx cl_msgs cl_bytes
  tx=$(bench_metric "$port" 'noisegate_kafka_transactions_total\{result="committed"')
  # What noisegate wrote besides the outputs: the changelog (per-entry checkpoints).
  cl_msgs=$(bench_metric "$port" 'noisegate_changelog_written_messages_total')
  cl_bytes=$(bench_metric "$port" 'noisegate_changelog_written_bytes_total')
  local kind cl_kinds=""
  for kind in put delete buffer_put buffer_delete globals; do
    cl_kinds+=" $kind $(bench_metric "$port" "noisegate_changelog_written_messages_total\\{kind=\"$kind\"")"
  done
  kill -TERM "$ng" && wait "$ng" || true
  ng=""
  echo "run $name (explain topic $explain${extra:+, $extra}): $(grep -o 'produced [0-9]* messages in [0-9.]* s' "$work/load.log") at $RATE/s"
  awk -v a="$started" -v b="$ready" -v e="${ready_event#event=}" \
    'BEGIN {printf "  start-up: %.2f s from start to %s\n", b - a, e}'
  [[ -n $lat ]] && echo "  $(cat "$work/latency.out")"
  awk -v n="$expect" -v ng="$ng_cpu" -v br="$broker_cpu" -v t0="$t0" -v t1="$t1" -v tx="$tx" \
    -v cm="$cl_msgs" -v cb="$cl_bytes" -v ck="$cl_kinds" 'BEGIN {
    printf "  %d records in %.1f s (%.0f records/s) from first message produced to last decided; %d transactions\n", n, t1 - t0, n / (t1 - t0), tx
    printf "  changelog: %d messages, %.1f MB (%.0f messages per million records;%s)\n", cm, cb / 1e6, cm * 1e6 / n, ck
    printf "  cpu: noisegate %.2f s (%.2f s per million records), broker %.2f s (%.2f s per million)\n", ng, ng * 1e6 / n, br, br * 1e6 / n
  }'
}

# intake: the broker's CPU for producing the input alone, on fresh topics, nothing consuming.
intake() {
  local broker broker_cpu0
  broker=$(cat "$work/kafka/kafka.pid")
  broker_cpu0=$(cpu "$broker")
  $B/ng-load -b "$bootstrap" --rate "$RATE" --topic-prefix intake. "${dumps[@]}" 2>"$work/load.log"
  sleep 2  # replication and log flushes that follow the last ack
  intake_cpu=$(awk -v a="$broker_cpu0" -v b="$(cpu "$broker")" 'BEGIN {print b - a}')
  echo "run intake (no noisegate): $(grep -o 'produced [0-9]* messages in [0-9.]* s' "$work/load.log") at $RATE/s"
  awk -v n="$expect" -v br="$intake_cpu" 'BEGIN {
    printf "  cpu: broker %.2f s (%.2f s per million records) taking in the input alone\n", br, br * 1e6 / n
  }'
}

replay_stats() {  # CPU seconds of replay with the outputs of the live run it is compared to
  $B/noisegate replay -q --stats --rules examples/rules.yaml "$@" "${dumps[@]}" 2>/dev/null |
    sed -n 's/.*cpu_seconds=\([0-9.]*\).*/\1/p'
}
echo "estate: $expect records (SCALE=$SCALE)"
bench_broker
run warmup no >/dev/null
run latency yes
# The same with a tenth of the default commit interval: the latency less most of that
# deliberate wait (a record waits for the next commit to become visible).
run latency-c100 yes "commit_interval: 100ms"
rp=$(replay_stats --pages /dev/null --tickets /dev/null --dlq /dev/null --explain /dev/null)
awk -v n="$expect" -v rp="$rp" 'BEGIN {printf "  replay with explain: %.2f s (%.2f s per million records)\n", rp, rp * 1e6 / n}'
# The broker goes on warming up over the runs: the two ways alternate, and are compared pair
# by pair.
# (Each run on topics and a group of its own: a second run on the first one's would restore
# its state and read the same records as late.)
run cost-hop no "skip_repartition: false"
hop_cpu=$last_cpu
run cost no
cost_cpu=$last_cpu
run cost-hop-2 no "skip_repartition: false"
hop_cpu=$(awk -v a="$hop_cpu" -v b="$last_cpu" 'BEGIN {print (a + b) / 2}')
run cost-2 no
cost_cpu=$(awk -v a="$cost_cpu" -v b="$last_cpu" 'BEGIN {print (a + b) / 2}')
rp=$(replay_stats --pages /dev/null --tickets /dev/null --dlq /dev/null)
awk -v n="$expect" -v rp="$rp" 'BEGIN {printf "  replay without explain: %.2f s (%.2f s per million records)\n", rp, rp * 1e6 / n}'
intake
awk -v c="$cost_cpu" -v h="$hop_cpu" -v n="$expect" 'BEGIN {
  printf "skipping the hop (mean of the two cost runs against the two cost-hop runs): noisegate + broker %.2f s against %.2f s per million records (%.2fx)\n", c * 1e6 / n, h * 1e6 / n, c / h
}'
awk -v n="$expect" -v rp="$rp" -v all="$cost_cpu" -v in_="$intake_cpu" 'BEGIN {
  printf "summary (production default, per million records): noisegate + broker %.2f s = %.1fx replay; less the input'"'"'s intake %.2f s = %.1fx replay\n", all * 1e6 / n, all / rp, (all - in_) * 1e6 / n, (all - in_) / rp
}'
