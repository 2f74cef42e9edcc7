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
