# Shared by the benchmarks that run noisegate on a real broker (source it): bench_work NAME
# makes the work directory $work; on exit, the noisegate in $ng (if any) is killed, the broker
# in $work/kafka stopped and $work removed.
bench_work() {
  work=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
  ng=""
  trap bench_cleanup EXIT
  export KAFKA_OWNER_PID=$$
}
bench_cleanup() {
  if [[ -n $ng ]]; then kill -KILL "$ng" 2>/dev/null || true; fi
  tests/kafka/kafka.sh stop "$work/kafka" >/dev/null 2>&1 || true
  rm -rf "$work"
}
# bench_broker: starts a fresh broker in $work/kafka (stopping one there before), 3 partitions
# per topic; sets $bootstrap and exports it to noisegate.
bench_broker() {
  tests/kafka/kafka.sh stop "$work/kafka" >/dev/null 2>&1 || true
  bootstrap=$(KAFKA_EXTRA_PROPS="num.partitions=3" tests/kafka/kafka.sh start "$work/kafka" 2>/dev/null)
  export NOISEGATE_KAFKA_BOOTSTRAP_SERVERS=$bootstrap
}
# bench_estate SCALE: generates the estate into $work/estate; sets $dumps (its input files) and
# $expect (how many records live decides: the estate's one message for a topic that is no
# input is replayed as a dead letter, and live never reads it).
bench_estate() {
  mkdir -p "$work/estate"
  ${BUILD_DIR:-build}/ng-gen-estate --scale "$1" --out "$work/estate" >/dev/null
  dumps=("$work"/estate/alerts.prometheus.jsonl "$work"/estate/alerts.newrelic.jsonl
    "$work"/estate/alerts.datadog.jsonl "$work"/estate/logs.app.jsonl)
  expect=$(${BUILD_DIR:-build}/noisegate replay -q --rules examples/rules.yaml --explain /dev/stdout \
    "${dumps[@]}" 2>/dev/null | grep -vc '"topic":"alerts.unknown"')
}
# bench_metric PORT NAME: the sum of the samples of NAME (an ERE prefix, e.g.
# 'noisegate_kafka_transactions_total\{result="committed"') on noisegate's /metrics at PORT.
bench_metric() {
  curl -s "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 ~ "^"m {s += $2} END {printf "%.0f\n", s + 0}'
}
