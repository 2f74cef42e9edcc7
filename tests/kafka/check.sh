#!/usr/bin/env bash
# check.sh: start a real Kafka broker (kafka.sh) and check Debian's kcat and librdkafka
# against it: metadata, produce/consume, consumer group, transactional produce,
# read_committed, and (txn_check.c) the exactly-once plumbing. Stops the broker at the end.
# Prints one ok/FAIL line per check and "N passed, M failed"; exit 0 only if all pass.
# The work dir (broker logs) is kept when a check fails. Env: as kafka.sh, plus
# CHECK_KEEP=1 to keep the work dir anyway.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KAFKA=$HERE/kafka.sh
t_begin=$EPOCHREALTIME
pass=0
fail=0
ok() { echo "ok - $*"; pass=$((pass + 1)); }
bad() { echo "FAIL - $*"; fail=$((fail + 1)); }
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

for tool in kcat cc pkg-config java mvn; do
  command -v "$tool" >/dev/null || { echo "FAIL - $tool not installed"; echo "0 passed, 1 failed"; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/noisegate-kafka-check.XXXXXX")
broker=$work/broker
finish() {
  local rc=$?
  "$KAFKA" stop "$broker" || true
  if ((rc == 0 && fail == 0)) && [[ ${CHECK_KEEP:-0} != 1 ]]; then
    rm -rf "$work"
  else
    echo "# work dir kept: $work (broker logs: $broker/logs)"
  fi
}
trap finish EXIT
trap 'exit 130' INT TERM

# ---- broker ---------------------------------------------------------------------------
t=$EPOCHREALTIME
if ! "$KAFKA" fetch; then bad "kafka.sh fetch"; echo "$pass passed, $fail failed"; exit 1; fi
echo "# fetch: $(elapsed "$t")s"
t=$EPOCHREALTIME
if ! B=$("$KAFKA" start "$broker"); then bad "kafka.sh start"; echo "$pass passed, $fail failed"; exit 1; fi
echo "# broker start (format + JVM start + first metadata): $(elapsed "$t")s"
pid=$(cat "$broker/kafka.pid")

kc() { timeout 30 kcat -b "$B" "$@"; }   # every kcat call is bounded

# ---- kcat ------------------------------------------------------------------------------
echo "# $(kcat -V 2>&1 | grep -m1 Version)"
md=$(kc -L 2>&1) || true
if grep -q "1 brokers:" <<<"$md" && grep -q "broker 1 at $B" <<<"$md"; then
  ok "kcat -L: metadata lists broker 1 at $B"
else
  bad "kcat -L: metadata: $md"
fi

printf 'k1:v1\nk2:v2\nk3:v3\n' | kc -P -q -K: -t check-plain || true
got=$(kc -C -q -t check-plain -o beginning -e -f '%k=%s\n' 2>&1 || true)
if [[ $got == $'k1=v1\nk2=v2\nk3=v3' ]]; then ok "kcat -P / -C: 3 keyed records round-trip"; else bad "kcat -P / -C: got [$got]"; fi

got=$(kc -G check-group -q -X auto.offset.reset=earliest -e check-plain 2>&1 || true)
if [[ $got == $'v1\nv2\nv3' ]]; then ok "kcat -G: group consumer reads the 3 records"; else bad "kcat -G first run: got [$got]"; fi
printf 'v4\n' | kc -P -q -t check-plain || true
got=$(kc -G check-group -q -e check-plain 2>&1 || true)
if [[ $got == v4 ]]; then ok "kcat -G: second run resumes from the committed offset (only v4)"; else bad "kcat -G second run: got [$got]"; fi

out=$(printf 'tx1\ntx2\n' | kc -P -t check-txn -X transactional.id=check-kcat-tx 2>&1) || true
if grep -q "Transaction successfully committed" <<<"$out"; then
  ok "kcat -P -X transactional.id: transaction committed"
else
  bad "kcat transactional produce: $out"
fi
got=$(kc -C -q -t check-txn -o beginning -e -X isolation.level=read_committed 2>&1 || true)
if [[ $got == $'tx1\ntx2' ]]; then ok "kcat -C read_committed sees the committed transaction"; else bad "kcat read_committed: got [$got]"; fi

# ---- librdkafka C API: exactly-once plumbing (txn_check.c) ------------------------------
t=$EPOCHREALTIME
# shellcheck disable=SC2046
if cc -O1 -Wall -Wextra -o "$work/txn_check" "$HERE/txn_check.c" $(pkg-config --cflags --libs rdkafka) \
    2>"$work/cc.log"; then
  ok "txn_check.c builds against librdkafka $(pkg-config --modversion rdkafka) ($(elapsed "$t")s)"
  timeout 180 "$work/txn_check" "$B" eos >"$work/txn_check.out" 2>"$work/txn_check.err" && rc=0 || rc=$?
  while IFS= read -r line; do
    case $line in
      "ok - "*) ok "txn_check: ${line#ok - }" ;;
      "FAIL - "*) bad "txn_check: ${line#FAIL - }" ;;
      "#"*) echo "$line" ;;
    esac
  done <"$work/txn_check.out"
  if ((rc != 0)) && ! grep -q '^FAIL' "$work/txn_check.out"; then bad "txn_check exited with $rc"; fi
  ((rc == 0)) || sed 's/^/#   /' "$work/txn_check.err" | tail -n 40
else
  bad "txn_check.c does not build: $(cat "$work/cc.log")"
fi

# kcat's isolation levels against the transactions written by txn_check
got=$(kc -C -q -t eos-out -o beginning -e -X isolation.level=read_committed 2>&1 | sort | tr '\n' ' ' || true)
if [[ $got == *commit-0* && $got == *open-1* && $got == *recovered-0* && $got != *abort-* && $got != *zombie* && $got != *crashed-* ]]; then
  ok "kcat read_committed hides txn_check's aborted and crashed transactions"
else
  bad "kcat read_committed on eos-out: [$got]"
fi
n=$(kc -C -q -t eos-out -o beginning -e -X isolation.level=read_uncommitted 2>&1 | grep -c '^abort-' || true)
if [[ $n == 4 ]]; then ok "kcat read_uncommitted shows the 4 aborted records"; else bad "kcat read_uncommitted: $n aborted records"; fi

# ---- broker health and stop ---------------------------------------------------------------
hwm=$(awk '/VmHWM/ {printf "%d MiB", $2 / 1024}' "/proc/$pid/status" 2>/dev/null || echo "?")
echo "# broker peak RSS: $hwm"
if grep -E '^\[[^]]*\] (ERROR|FATAL)' "$broker/logs/server.log" >/dev/null 2>&1; then
  bad "broker log has ERROR lines: $(grep -E '^\[[^]]*\] (ERROR|FATAL)' "$broker/logs/server.log" | head -3)"
else
  ok "broker log has no ERROR lines ($(grep -c ' WARN ' "$broker/logs/server.log" || true) WARN lines)"
fi
wpid=$(cat "$broker/watchdog.pid" 2>/dev/null || true)
t=$EPOCHREALTIME
"$KAFKA" stop "$broker"
# A zombie counts as gone (init may reap it late).
alive() { [[ -n $1 && -r /proc/$1/stat && $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) != Z ]]; }
if alive "$pid" || alive "$wpid"; then
  bad "broker $pid or its watchdog ${wpid:-none} still running after stop"
else
  ok "broker and watchdog stopped ($(elapsed "$t")s)"
fi

echo "# check.sh total: $(elapsed "$t_begin")s"
echo "$pass passed, $fail failed"
((fail == 0))
