#!/usr/bin/env bash
# Integration tests of `noisegate run` against a real Apache Kafka broker (tests/kafka/kafka.sh
# starts it on 127.0.0.1 and stops it). Each scenario asserts outcomes: what reached the
# pages, tickets, dead-letter and explain topics (read_committed) against what
# `noisegate replay` writes for the same input.
#
#   live_test.sh NOISEGATE NG_LOAD NG_GEN_ESTATE SCENARIO
#
# Scenarios: same_as_replay, sigkill, broker_outage, scale_out, dead_letters, idle_watermark,
# reload, http_intake, silences.
# A failing scenario keeps its work directory (logs, outputs) and prints where it is.
set -euo pipefail

NG=$(realpath "$1")
LOAD=$(realpath "$2")
GEN=$(realpath "$3")
SCENARIO=$4
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
KAFKA=$HERE/kafka.sh
RULES=$ROOT/examples/rules.yaml

work=$(mktemp -d "${TMPDIR:-/tmp}/ng-live-$SCENARIO.XXXXXX")
pids=()
ok=0
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  "$KAFKA" stop "$work/kafka" >/dev/null 2>&1 || true
  if ((ok)); then
    rm -rf "$work"
  else
    echo "live_test: $SCENARIO FAILED; logs and outputs kept in $work" >&2
    for f in "$work"/*.log; do
      [[ -f $f ]] || continue
      echo "---- tail of $f" >&2
      tail -n 25 "$f" >&2
    done
  fi
}
trap cleanup EXIT

say() { echo "live_test[$SCENARIO]: $*" >&2; }
fail() {
  say "FAIL: $*"
  exit 1
}

# A busy machine: every scenario runs with a CPU hog on each core (NG_TEST_HOGS=N for
# another count, 0 for none), because a guarantee that holds only on an idle machine is not
# one. The hogs run at the same priority as the broker and noisegate.
for ((i = 0; i < ${NG_TEST_HOGS:-$(nproc)}; i++)); do
  (while :; do :; done) &
  pids+=($!)
done

export KAFKA_OWNER_PID=$$
# Input topics are auto-created with 3 partitions, like the sample estate's.
bootstrap=$(KAFKA_EXTRA_PROPS="num.partitions=3" "$KAFKA" start "$work/kafka")
export NOISEGATE_KAFKA_BOOTSTRAP_SERVERS=$bootstrap

# The run config of the tests: explain on, no wall-clock watermark (idle_timeout 1h) so the
# live outputs are a pure function of the input, like replay's.
write_config() {
  local file=$1 instance=$2
  cat >"$file" <<EOF
instance: $instance
partitions: 6
commit_interval: 300ms
idle_timeout: 1h
metrics_listen: 127.0.0.1:0
topics:
  explain: noisegate.explain
${EXTRA_CONFIG:-}
EOF
}
write_config "$work/a.yaml" a
"$NG" topics --config "$work/a.yaml" 2>"$work/topics.log" || fail "noisegate topics failed"

# start_ng NAME CONFIG [RULES]: starts `noisegate run` in the background; its PID in $ng_pid.
start_ng() {
  local name=$1 config=$2 rules=${3:-$RULES}
  "$NG" run --rules "$rules" --config "$config" >>"$work/$name.out" 2>>"$work/$name.log" &
  ng_pid=$!
  pids+=("$ng_pid")
}

# consume TOPIC: every committed message value, one per line.
consume() {
  kcat -C -b "$bootstrap" -t "$1" -e -q -o beginning -X isolation.level=read_committed 2>/dev/null
}

# wait_count TOPIC N SECONDS: until TOPIC holds at least N committed messages.
wait_count() {
  local topic=$1 want=$2 limit=$3 have=0 t0=$SECONDS
  while ((SECONDS - t0 < limit)); do
    have=$(consume "$topic" | wc -l)
    if ((have >= want)); then return 0; fi
    sleep 1
  done
  fail "$topic holds $have messages after ${limit}s, expected $want"
}

# expect_same NAME EXPECTED_FILE TOPIC: the topic's messages equal the file's lines (as a
# multiset: partitions interleave, so only the order within an incident is kept; see below).
expect_same() {
  local name=$1 expected=$2 topic=$3
  consume "$topic" | sort >"$work/live.$name"
  sort "$expected" >"$work/expected.$name"
  if ! cmp -s "$work/live.$name" "$work/expected.$name"; then
    diff "$work/expected.$name" "$work/live.$name" | head -20 >&2
    fail "$name: live differs from replay ($(wc -l <"$work/live.$name") live lines, $(wc -l <"$work/expected.$name") expected)"
  fi
  say "$name: $(wc -l <"$work/live.$name") messages, identical to replay"
}

# Per incident, the order of its messages must be replay's too (the dedup_key is the key).
expect_incident_order() {
  local topic=$1 expected=$2
  consume "$topic" | grep -o '"event_action":"[a-z]*","dedup_key":"[^"]*"' |
    awk -F'"' '{seq[$8] = seq[$8] " " $4} END {for (k in seq) print k seq[k]}' | sort >"$work/order.live"
  grep -o '"event_action":"[a-z]*","dedup_key":"[^"]*"' "$expected" |
    awk -F'"' '{seq[$8] = seq[$8] " " $4} END {for (k in seq) print k seq[k]}' | sort >"$work/order.expected"
  cmp -s "$work/order.live" "$work/order.expected" || {
    diff "$work/order.expected" "$work/order.live" | head >&2
    fail "$topic: the order of an incident's messages differs from replay"
  }
}

# The sample estate and what replay makes of it. Replay breaks event-time ties by file order;
# live by the rules' input order: give replay the files in that order. The estate also holds a
# message for a topic no input reads; live never subscribes to it, so it is not expected.
estate() {
  mkdir -p "$work/estate"
  "$GEN" --seed "${SEED:-42}" ${SCALE:+--scale "$SCALE"} --out "$work/estate" >/dev/null
  dumps=()
  local topic
  for topic in $(grep -o 'topic: [a-z.]*' "$RULES" | awk '{print $2}'); do
    [[ -f $work/estate/$topic.jsonl ]] && dumps+=("$work/estate/$topic.jsonl")
  done
  "$NG" replay -q --rules "$RULES" --pages "$work/r.pages" --tickets "$work/r.tickets" \
    --dlq "$work/r.dlq" --explain "$work/r.explain" "${dumps[@]}" 2>/dev/null
  [[ -s $work/r.pages ]] || fail "replay of the estate paged nothing"
  local f
  for f in "$work/r.dlq" "$work/r.explain"; do
    grep -v '"topic":"alerts.unknown"' "$f" >"$f.tmp" || true
    mv "$f.tmp" "$f"
  done
}

load() { "$LOAD" -b "$bootstrap" "$@" 2>>"$work/load.log" || fail "ng-load failed"; }

expect_all_same_as_replay() {
  local limit=${1:-240}
  wait_count noisegate.explain "$(wc -l <"$work/r.explain")" "$limit"
  sleep 1  # a duplicate would arrive in a later transaction: give it the chance
  expect_same pages "$work/r.pages" noisegate.pages
  expect_same tickets "$work/r.tickets" noisegate.tickets
  expect_same dead_letters "$work/r.dlq" noisegate.dlq
  expect_same explain "$work/r.explain" noisegate.explain
  expect_incident_order noisegate.pages "$work/r.pages"
}

# notifications_logged LOG / notifications_replayed: "route dedup_key action reason" of every
# notification that the log says went out (logged when its transaction committed), and of
# every one replay sent; sorted, one per line.
notifications_logged() {
  sed -n 's/^noisegate: level=info event=notification route=\([a-z]*\) action=\([a-z]*\) reason=\([a-z]*\) dedup_key=\([^ ]*\) .*/\1 \4 \2 \3/p' "$1" | sort
}
notifications_replayed() {
  python3 - "$work/r.pages" "$work/r.tickets" <<'EOF2' | sort
import json, sys
for path, route in zip(sys.argv[1:], ("page", "ticket")):
    for line in open(path):
        if line.strip():
            m = json.loads(line)
            reason = m["payload"]["custom_details"]["reason"]
            print(route, m["dedup_key"], m["event_action"], reason)
EOF2
}

# admin_port NAME: the port of the admin endpoint of the newest run of NAME.
# (Empty until the run has opened its log and logged its port: a restarted process opens
# its log a moment after start_ng returns.)
admin_port() {
  { sed -n 's/.*event=admin_server .*port=\([0-9]*\).*/\1/p' "$work/$1.log" 2>/dev/null || true; } |
    tail -1
}
# http_status NAME PATH: the HTTP status of GET PATH on NAME's admin endpoint.
http_status() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$(admin_port "$1")$2" || true; }
# wait_status NAME PATH STATUS SECONDS
wait_status() {
  local t0=$SECONDS
  while ((SECONDS - t0 < $4)); do
    [[ $(http_status "$1" "$2") == "$3" ]] && return 0
    sleep 0.5
  done
  fail "GET $2 never answered $3 within $4 s (last: $(http_status "$1" "$2"))"
}

# wait_decided NAME N SECONDS: until NAME's current run has decided N records (its /metrics).
wait_decided() {
  local t0=$SECONDS n=0 port
  while ((SECONDS - t0 < $3)); do
    port=$(admin_port "$1")
    if [[ -n $port ]]; then
      # (the previous run's port refuses until the new run logs its own)
      n=$({ curl -s "http://127.0.0.1:$port/metrics" || true; } |
        awk '/^noisegate_decisions_total/ {s += $2} END {printf "%d", s}')
      ((n >= $2)) && return 0
    fi
    sleep 0.2
  done
  fail "$1 decided $n records in $3 s, expected $2"
}

# wait_log NAME PATTERN SECONDS: until NAME's log has a line matching PATTERN (grep -E).
wait_log() {
  local t0=$SECONDS
  while ((SECONDS - t0 < $3)); do
    grep -Eq "$2" "$work/$1.log" && return 0
    sleep 0.5
  done
  fail "no log line matching '$2' within $3 s"
}

# metric_of NAME SERIES: the value of one series on NAME's /metrics (-1 when absent, so no
# comparison passes on a missing series).
metric_of() {
  { curl -s "http://127.0.0.1:$(admin_port "$1")/metrics" || true; } |
    awk -v m="$2" 'BEGIN {v = -1} $1 == m {v = $2} END {printf "%d", v}'
}

# hup_reloads NAME PID: SIGHUP, and one more successful rules reload is counted.
hup_reloads() {
  local series='noisegate_rules_reloads_total{result="success"}' before t0=$SECONDS
  before=$(metric_of "$1" "$series")
  kill -HUP "$2"
  while (($(metric_of "$1" "$series") <= before)); do
    ((SECONDS - t0 < 30)) || fail "SIGHUP did not reload"
    sleep 0.5
  done
}

stop_ng() {  # SIGTERM, and it must exit 0 within the shutdown bound
  local pid=$1 rc=0
  kill -TERM "$pid"
  wait "$pid" || rc=$?
  ((rc == 0)) || fail "noisegate exited $rc after SIGTERM"
}

case $SCENARIO in
  same_as_replay)
    # The sample estate through the live path and through replay: identical outputs.
    estate
    start_ng a "$work/a.yaml"
    load "${dumps[@]}"
    expect_all_same_as_replay
    # The metrics agree with the outputs, and pass Prometheus' own checker.
    wait_status a /readyz 200 10
    [[ $(http_status a /healthz) == 200 ]] || fail "/healthz is not 200"
    curl -sf "http://127.0.0.1:$(admin_port a)/metrics" >"$work/metrics.txt" || fail "no /metrics"
    promtool check metrics <"$work/metrics.txt" || fail "promtool rejects /metrics"
    metric() { awk -v m="$1" '$1 == m {print $2}' "$work/metrics.txt"; }
    want_new=$(grep -c '"decision":"new"' "$work/r.explain")
    got_new=$(metric 'noisegate_decisions_total{decision="new"}')
    [[ ${got_new%.*} == "$want_new" ]] || fail "noisegate_decisions_total{new} is $got_new, replay opened $want_new"
    want_pages=$(grep -c '"event_action":"trigger"' "$work/r.pages")
    got_pages=$(metric 'noisegate_notifications_total{action="trigger",route="page"}')
    [[ ${got_pages%.*} == "$want_pages" ]] || fail "page triggers metric $got_pages, expected $want_pages"
    [[ $(metric noisegate_ready) == 1 ]] || fail "noisegate_ready is not 1"
    version=$("$NG" --version | awk '{print $2}')
    grep -q "^noisegate_build_info{.*version=\"$version\".*} 1" "$work/metrics.txt" ||
      fail "no noisegate_build_info for version $version"
    say "metrics: $want_new incidents opened, $want_pages page triggers, promtool clean"
    # Per-rule hit counts: for each rule and decision, as many as replay's explain lines say.
    python3 - "$work/r.explain" "$work/metrics.txt" <<'EOF' || fail "noisegate_rule_decisions_total differs from replay's explain lines"
import collections, json, re, sys
want = collections.Counter()
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("rule"):
        want[(e["rule"], e["decision"])] += 1
got = collections.Counter()
series = re.compile(r'^noisegate_rule_decisions_total\{decision="([^"]*)",rule="((?:[^"\\]|\\.)*)"\} (\S+)$')
for line in open(sys.argv[2]):
    m = series.match(line.strip())
    if m:
        got[(m.group(2).replace('\\"', '"').replace('\\\\', '\\'), m.group(1))] += int(float(m.group(3)))
if not want or got != want:
    for k in sorted(set(want) | set(got)):
        if want[k] != got[k]:
            print(f"rule {k[0]!r} decision {k[1]}: replay {want[k]}, metric {got[k]}")
    sys.exit(1)
print(f"== per-rule hit counts: {len(want)} (rule, decision) series agree with replay")
EOF
    # Every input partition reports its lag (set once a second): none once all is decided.
    for _ in $(seq 40); do
      lags=$(curl -s "http://127.0.0.1:$(admin_port a)/metrics" | grep '^noisegate_input_lag_messages{' || true)
      [[ $(wc -l <<<"$lags") -ge ${#dumps[@]} && -z $(awk '$2 != 0' <<<"$lags") ]] && break
      sleep 0.25
    done
    [[ $(wc -l <<<"$lags") -ge ${#dumps[@]} && -z $(awk '$2 != 0' <<<"$lags") ]] ||
      fail "noisegate_input_lag_messages is not 0 for every input partition: $lags"
    say "input lag: $(wc -l <<<"$lags") partitions at 0"
    # The only replica skips the repartition hop: the topic holds its one-byte markers (one per
    # checkpoint) and no record.
    grep -q 'event=repartition_hop state=skipped' "$work/a.log" || fail "the repartition hop was not skipped"
    [[ $(metric noisegate_repartition_skipped) == 1 ]] || fail "noisegate_repartition_skipped is not 1"
    sizes=$(kcat -C -b "$bootstrap" -t noisegate.repartition -o beginning -e -q \
      -X isolation.level=read_committed -f '%S\n' 2>/dev/null | sort | uniq -c)
    [[ -n $sizes && $(awk '$2 != 1' <<<"$sizes") == "" ]] ||
      fail "the repartition topic holds more than markers: $sizes"
    say "repartition hop skipped: $(awk '{print $1}' <<<"$sizes") one-byte markers on the topic, no record"
    # The log has a line for each page and ticket event, and for nothing else.
    diff <(notifications_replayed) <(notifications_logged "$work/a.log") >"$work/notify.diff" ||
      { head -20 "$work/notify.diff"; fail "the logged notifications differ from replay's"; }
    say "log: one event=notification line per page and ticket event"
    # Repartition and output messages are stamped with the wall clock, not the (weeks old)
    # event time: retention must count from when they were written, or a backfill is deleted
    # before it is correlated, and its pages before anyone reads them. (And a broker refuses
    # timestamps more than log.message.timestamp.after.max.ms ahead: an event time from a
    # wrong clock must not stop the stream.)
    now_ms=$(($(date +%s) * 1000))
    for topic in noisegate.repartition noisegate.pages noisegate.tickets noisegate.dlq noisegate.explain; do
      ts=$(kcat -C -b "$bootstrap" -t "$topic" -p 0 -o beginning -c 1 -e -q \
        -X isolation.level=read_committed -f '%T\n' 2>/dev/null)
      [[ -n $ts ]] && ((now_ms - ts < 3600000 && ts - now_ms < 3600000)) ||
        fail "$topic timestamp ${ts:-none} is not the wall clock ($now_ms)"
    done
    stop_ng "$ng_pid"
    grep -q 'event=stopped' "$work/a.log" || fail "no clean stop logged"
    ;;

  sigkill)
    # noisegate is SIGKILLed a dozen times while it works through the stream, and restarted
    # each time: half the kills are aimed at the dangerous moments by crash points
    # (NOISEGATE_FAILPOINT: during a restore, between produce and commit, in the middle of a
    # checkpoint, right after a commit), half come from outside after a random number of
    # decisions. Every page exactly once, the state restored from the changelog.
    SCALE=4 estate
    load "${dumps[@]}"
    total=$(wc -l <"$work/r.explain")
    # after_produce comes early: the stream's first notification is still ahead then.
    lives=(restore:1 after_produce:1 before_commit:2 - checkpoint_mid:3 - after_commit:1
      before_commit:1 - checkpoint_mid:1 after_commit:2 - restore:1 -)
    kills=0
    for point in "${lives[@]}"; do
      hits=$(grep -c 'event=failpoint' "$work/a.log" 2>/dev/null || true)
      if [[ $point == - ]]; then
        start_ng a "$work/a.yaml"
      else
        NOISEGATE_FAILPOINT=$point start_ng a "$work/a.yaml"
      fi
      after=$(awk -v s="$RANDOM" 'BEGIN {srand(s); printf "%d", 2000 + rand() * 30000}')
      # An aimed life ends at its crash point; the others are SIGKILLed once they have
      # committed and decided $after records. The one crash point that depends on the data,
      # after_produce (a notification), is given 30000 decisions more, then killed from
      # outside: no life may finish the stream alone, or the kills would run out before it is
      # done. (The other points come with every commit; one loop turn of a backlog can decide
      # tens of thousands of records, so a decision budget would cut them short.) Any life
      # ends when the stream is done.
      t0=$SECONDS
      checked=$SECONDS
      while kill -0 "$ng_pid" 2>/dev/null; do
        if ((SECONDS - checked >= 3)); then  # (reading the whole topic takes a while)
          checked=$SECONDS
          (($(consume noisegate.explain | wc -l) >= total)) && break
        fi
        port=$(admin_port a)
        metrics=$({ [[ -n $port ]] && curl -s "http://127.0.0.1:$port/metrics" || true; })
        n=$(awk '/^noisegate_decisions_total/ {s += $2} END {printf "%d", s}' <<<"$metrics")
        c=$(awk '$1 == "noisegate_kafka_transactions_total{result=\"committed\"}" {printf "%d", $2}' <<<"$metrics")
        limit=$after
        [[ $point == after_produce:* ]] && limit=$((after + 30000))
        [[ $point == - || $point == after_produce:* ]] || limit=-1
        ((limit >= 0 && n >= limit && ${c:-0} >= 1)) && break
        ((SECONDS - t0 < 180)) || fail "life $((kills + 1)) ($point) neither ended nor finished"
        sleep 0.2
      done
      kill -KILL "$ng_pid" 2>/dev/null || true
      wait "$ng_pid" 2>/dev/null || true
      kills=$((kills + 1))
      if (($(grep -c 'event=failpoint' "$work/a.log" || true) > hits)); then
        say "life $kills: SIGKILL at crash point $point"
      else
        say "life $kills: SIGKILL from outside ($point; $after decisions)"
      fi
      (($(consume noisegate.explain | wc -l) >= total)) && break
    done
    aimed=$(grep -c 'event=failpoint' "$work/a.log" || true)
    ((kills >= 10)) || fail "only $kills SIGKILLs before the stream was done"
    ((aimed >= 5)) || fail "only $aimed kills hit their crash point"
    say "$kills SIGKILLs, $aimed of them at crash points"
    start_ng a "$work/a.yaml"
    expect_all_same_as_replay 400
    # A notification is logged when its transaction commits, never for one that a kill undid
    # (the next life sends it again): no line twice. (A kill right after a commit may take a
    # line with it.)
    comm -13 <(notifications_replayed) <(notifications_logged "$work/a.log") >"$work/notify.extra"
    [[ ! -s $work/notify.extra ]] ||
      { head -20 "$work/notify.extra"; fail "logged notifications that replay did not send (or twice)"; }
    say "log: $(notifications_logged "$work/a.log" | wc -l) of $(notifications_replayed | wc -l) notifications logged, none twice"
    grep -Eq 'event=restored .*state_bytes=[1-9]' "$work/a.log" ||
      fail "no partition state was restored from the changelog"
    grep -q 'event=repartition_hop state=skipped' "$work/a.log" || fail "the repartition hop was not skipped"
    # An input's offset is committed only up to the first message whose records are not all
    # released (the rest is read again, not checkpointed), with how far it had been ingested
    # and the latest record time before it: lives resumed before what they had ingested, and
    # still nothing went out twice (above). (In this backlog the first record of most
    # partitions waits for the others' for most of the run: their time is not known yet.)
    awk '/event=input_resumes/ {
        for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
        if (f["ingested_to"] + 0 > f["offset"] + 0) reread++
      } END { exit !(reread > 0) }' "$work/a.log" ||
      fail "no life resumed an input partition before what it had ingested"
    stop_ng "$ng_pid"
    ;;

  broker_outage)
    # The broker stops mid-stream and comes back: noisegate keeps retrying, then catches up;
    # nothing lost, nothing duplicated. Then it stops while noisegate is idle: ready again
    # when it is back, with no new input.
    SCALE=4 estate
    load "${dumps[@]}"
    start_ng a "$work/a.yaml"
    wait_count noisegate.explain 1000 120
    "$KAFKA" stop "$work/kafka"
    say "broker stopped"
    wait_status a /readyz 503 30
    say "noisegate reports not ready"
    sleep 3
    kill -0 "$ng_pid" 2>/dev/null || fail "noisegate exited while the broker was down"
    [[ $(http_status a /healthz) == 200 ]] || fail "/healthz is not 200 during the outage"
    "$KAFKA" restart "$work/kafka" >/dev/null
    say "broker restarted"
    wait_status a /readyz 200 60
    expect_all_same_as_replay 400
    grep -q 'level=warn\|level=error' "$work/a.log" || fail "the outage left no trace in the log"
    # Again with nothing left to do: no transaction will say the broker is back, so the idle
    # loop must ask it, or the pod would stay out of its Service (and NoisegateNotReady fire).
    "$KAFKA" stop "$work/kafka"
    say "broker stopped while noisegate is idle"
    wait_status a /readyz 503 30
    lines=$(wc -l <"$work/a.log")
    "$KAFKA" restart "$work/kafka" >/dev/null
    say "broker restarted; no new input"
    wait_status a /readyz 200 60
    # How it came back (a rebalance after the restart makes it ready too, and would hide a
    # broken probe: then this run proves less).
    how=$(tail -n +"$((lines + 1))" "$work/a.log" | grep -o 'event=ready via="[^"]*"' | head -1)
    [[ -n $how ]] || fail "ready again, but the log does not say how"
    say "ready again: $how"
    expect_all_same_as_replay 60
    stop_ng "$ng_pid"
    ;;

  scale_out)
    # Two replicas share the partitions; one dies in a rebalance (SIGKILL in its revoke
    # callback) and comes back, the other leaves (SIGTERM) and comes back. Partitions and
    # their state move between them; incidents keep their dedup_keys; no duplicate trigger.
    SCALE=4 estate
    write_config "$work/b.yaml" b
    load "${dumps[@]}"
    # a dies in the middle of the first rebalance: in its revoke callback, before it commits.
    NOISEGATE_FAILPOINT=revoke:1 start_ng a "$work/a.yaml"
    a_pid=$ng_pid
    sleep 3
    start_ng b "$work/b.yaml"
    b_pid=$ng_pid
    t0=$SECONDS
    while kill -0 "$a_pid" 2>/dev/null; do
      ((SECONDS - t0 < 60)) || fail "a did not reach its crash point in the rebalance"
      sleep 0.2
    done
    wait "$a_pid" 2>/dev/null || true
    grep -q 'event=failpoint name=revoke' "$work/a.log" || fail "a died, but not in the rebalance"
    say "a was SIGKILLed in its revoke callback; it comes back"
    start_ng a "$work/a.yaml"
    a_pid=$ng_pid
    sleep 6
    say "b leaves"
    stop_ng "$b_pid"
    sleep 5
    say "b comes back"
    start_ng b "$work/b.yaml"
    b_pid=$ng_pid
    expect_all_same_as_replay 400
    grep -q 'event=assigned partitions=.*noisegate.repartition' "$work/b.log" ||
      fail "b never got a repartition partition"
    grep -Eq 'event=restored .*state_bytes=[1-9]' "$work/a.log" "$work/b.log" ||
      fail "no partition state moved through the changelog"
    # Alone, a skipped the repartition hop; with b, both took it.
    grep -q 'event=repartition_hop state=skipped' "$work/a.log" || fail "a alone never skipped the hop"
    grep -q 'event=repartition_hop state=taken' "$work/a.log" || fail "a never took the hop again"
    stop_ng "$b_pid"
    stop_ng "$a_pid"
    ;;

  dead_letters)
    # Malformed and oversized messages end in the dead-letter topic with their reasons, in
    # between good ones that still page; the same as replay's dead-letter output.
    EXTRA_CONFIG="max_message_bytes: 100000" write_config "$work/a.yaml" a
    python3 - "$work/bad.jsonl" <<'EOF'
import json, sys
t0 = 1795392000000
def alert(name, sev):
    return json.dumps({"version": "4", "status": "firing", "receiver": "r", "alerts": [{
        "status": "firing", "labels": {"alertname": name, "severity": sev, "service": "checkout-api"},
        "annotations": {"summary": name}, "startsAt": "2026-11-23T00:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z"}]})
payloads = [
    alert("CheckoutErrors", "critical"),
    "this is not json",
    '{"version":"4","alerts":[{"status":"firing","labels":{"alertname":"Cut"',
    json.dumps({"version": "4", "alerts": [{"status": "firing", "labels": {}}]}),
    json.dumps({"version": "4", "alerts": "nope"}),
    '{"version":"4","alerts":[' + ",".join(['{"status":"firing","labels":{"alertname":"Big","x":"' + "y" * 1000 + '"},"startsAt":"2026-11-23T00:00:00Z"}'] * 150) + "]}",
    "",
    alert("SLOBurnRateHigh", "warning"),
]
with open(sys.argv[1], "w") as f:
    for i, p in enumerate(payloads):
        f.write(json.dumps({"topic": "alerts.prometheus", "partition": 0, "offset": i,
                            "tstype": "create", "ts": t0 + i * 1000, "broker": 1, "key": None,
                            "payload": p}) + "\n")
    # Later records move event time past group_wait, so both good alerts page.
    f.write(json.dumps({"topic": "alerts.prometheus", "partition": 0, "offset": len(payloads),
                        "tstype": "create", "ts": t0 + 3600000, "broker": 1, "key": None,
                        "payload": alert("Watchdog", "none")}) + "\n")
EOF
    "$NG" replay -q --rules "$RULES" --max-message-bytes 100000 --pages "$work/r.pages" \
      --tickets "$work/r.tickets" --dlq "$work/r.dlq" --explain "$work/r.explain" "$work/bad.jsonl"
    for reason in not_json truncated missing_field wrong_type too_large empty; do
      grep -q "\"reason\":\"$reason\"" "$work/r.dlq" || fail "replay has no $reason dead letter"
    done
    grep -q '"event_action":"trigger".*CheckoutErrors (+1 more signals)' "$work/r.pages" ||
      fail "replay did not page the good alerts around the bad ones"
    start_ng a "$work/a.yaml"
    load "$work/bad.jsonl"
    expect_all_same_as_replay 120
    # Counted by input topic and reason, and logged once each (fewer than the log's burst).
    for reason in not_json truncated missing_field wrong_type too_large empty; do
      want=$(grep -c "\"reason\":\"$reason\"" "$work/r.dlq")
      got=$(metric_of a "noisegate_dead_letters_total{reason=\"$reason\",topic=\"alerts.prometheus\"}")
      ((got == want)) || fail "noisegate_dead_letters_total for $reason is $got, replay has $want"
      logged=$(grep -Ec "level=warn event=dead_letter topic=alerts\.prometheus partition=0 offset=[0-9]+ index=[0-9]+ reason=$reason detail=\"" "$work/a.log" || true)
      ((logged == want)) || fail "$logged log lines for the $reason dead letters, replay has $want"
    done
    say "dead letters: counted and logged by topic and reason, as replay has them"
    stop_ng "$ng_pid"
    ;;

  idle_watermark)
    # A lone alert at the current time pages after group_wait although nothing else arrives:
    # the idle partition's event time advances with the wall clock. (With the repartition hop
    # taken, as a replica among others does, although this one is alone.)
    EXTRA_CONFIG="skip_repartition: false" write_config "$work/a.yaml" a
    sed -i 's/^idle_timeout: 1h/idle_timeout: 2s/' "$work/a.yaml"
    cat >"$work/rules.yaml" <<'EOF'
inputs:
  - topic: alerts.prometheus
    format: alertmanager
correlate:
  - name: all
    group_by: [alertname]
    group_wait: 5s
page:
  when: [['severity="critical"']]
EOF
    start_ng a "$work/a.yaml" "$work/rules.yaml"
    sleep 3
    now_ms=$(($(date +%s%N) / 1000000))
    python3 - "$work/lone.jsonl" "$now_ms" <<'EOF'
import json, sys
ts = int(sys.argv[2])
p = json.dumps({"version": "4", "status": "firing", "alerts": [{"status": "firing",
    "labels": {"alertname": "Lonely", "severity": "critical"}, "annotations": {"summary": "alone"},
    "startsAt": "2026-11-24T00:00:00Z"}]})
print(json.dumps({"topic": "alerts.prometheus", "partition": 0, "offset": 0, "ts": ts,
                  "key": None, "payload": p}), file=open(sys.argv[1], "w"))
EOF
    load "$work/lone.jsonl"
    t0=$SECONDS
    wait_count noisegate.pages 1 60
    waited=$((SECONDS - t0))
    consume noisegate.pages | grep -q '"event_action":"trigger".*Lonely' || fail "no trigger for the lone alert"
    ((waited >= 4)) || fail "paged after ${waited}s, before group_wait (5s)"
    grep -q 'event=repartition_hop' "$work/a.log" && fail "the hop was skipped with skip_repartition: false"
    say "the lone alert paged after ${waited}s (group_wait 5s, idle_timeout 2s)"
    stop_ng "$ng_pid"
    ;;

  reload)
    # The rules reloaded mid-stream. The same rules in another order are swapped in by
    # SIGHUP (or the file watch) with every partition's state kept; a broken file is refused
    # (found by the file watch, and again by POST /-/reload, which answers 500 with
    # file:line:column) and the rules before it keep running. The outputs stay identical to
    # replay's.
    SCALE=4 estate
    cp "$RULES" "$work/rules.yaml"
    EXTRA_CONFIG="rules_check_interval: 1s" write_config "$work/a.yaml" a
    # The same rules in another order: topology services and drop rules reversed.
    python3 "$HERE/reorder_rules.py" "$RULES" "$work/rules.reordered"
    ! cmp -s "$RULES" "$work/rules.reordered" || fail "the reordered rules are the same file"
    "$NG" check "$work/rules.reordered" >/dev/null || fail "the reordered rules do not load"
    load "${dumps[@]}"
    # noisegate stops itself (SIGSTOP) right after it produced its third notification, the
    # database outage's page (not committed yet; the incident open); the file is swapped and
    # SIGHUP sent while it stands still, then it goes on.
    NOISEGATE_FAILPOINT=after_produce:3:stop start_ng a "$work/a.yaml" "$work/rules.yaml"
    t0=$SECONDS
    until [[ $(awk '{print $3}' "/proc/$ng_pid/stat" 2>/dev/null) == T ]]; do
      ((SECONDS - t0 < 120)) || fail "noisegate never stopped at its third notification"
      sleep 0.1
    done
    cp "$work/rules.reordered" "$work/rules.new"
    mv "$work/rules.new" "$work/rules.yaml"
    kill -HUP "$ng_pid"
    kill -CONT "$ng_pid"
    wait_log a 'event=rules_reloaded reason=(sighup|file_changed)' 60
    decided=$(sed -n 's/.*event=rules_reloaded .* records=\([0-9]*\).*/\1/p' "$work/a.log" | head -1)
    total=$(wc -l <"$work/r.explain")
    # (How far the stream got by then depends on how the partitions interleave: batches of
    # records let one partition run ahead of the others.)
    ((decided > total / 10 && decided < total)) ||
      fail "the reload was not mid-stream ($decided of $total records)"
    say "the reordered rules were reloaded after $decided of $total records, state kept"
    printf 'correlate:\n  - name: all\n    group_wait: soon\n' >"$work/rules.new"
    mv "$work/rules.new" "$work/rules.yaml"
    wait_log a 'event=rules_reload_failed reason=file_changed' 60
    wait_log a 'event=rules_diagnostic detail=".*rules.yaml:3:17: correlate\[0\]\.group_wait' 5
    code=$(curl -s -o "$work/reload.body" -w '%{http_code}' -X POST \
      "http://127.0.0.1:$(admin_port a)/-/reload" || true)
    [[ $code == 500 ]] || fail "POST /-/reload of a broken file answered $code, not 500"
    grep -q 'rules.yaml:3:17: correlate\[0\].group_wait' "$work/reload.body" ||
      fail "the 500 does not name the problem: $(cat "$work/reload.body")"
    (($(metric_of a 'noisegate_rules_reloads_total{result="failure"}') >= 2)) ||
      fail "failed reloads are not counted"
    [[ $(metric_of a noisegate_rules_last_reload_successful) == 0 ]] ||
      fail "noisegate_rules_last_reload_successful is not 0 after a refused file"
    say "a broken rules file was refused; the rules before it kept running"
    # Back to the original order: a second swap, by SIGHUP (or the watch: either counts).
    cp "$RULES" "$work/rules.new"
    mv "$work/rules.new" "$work/rules.yaml"
    hup_reloads a "$ng_pid"
    (($(grep -c 'event=rules_reloaded' "$work/a.log") >= 2)) || fail "the second swap was not done"
    # SIGHUP with nothing changed reloads too (the file watch never does): counted.
    hup_reloads a "$ng_pid"
    [[ $(metric_of a noisegate_rules_last_reload_successful) == 1 ]] ||
      fail "noisegate_rules_last_reload_successful is not 1 after a good reload"
    kill -0 "$ng_pid" || fail "noisegate exited on SIGHUP"
    expect_all_same_as_replay 400
    stop_ng "$ng_pid"
    ;;

  http_intake)
    # Real Prometheus and a real Alertmanager deliver to noisegate's HTTP intake: Prometheus
    # through the alert API (as to an Alertmanager), Alertmanager through its webhook. The same
    # alert comes in by both doors and pages once; a replay of what the intake wrote to Kafka
    # gives the same outputs; without the token nothing gets in; with the broker away the
    # intake answers 503 (the sender retries), and 200 again once it is back.
    cat >"$work/rules.yaml" <<'EOF'
inputs:
  - topic: alerts.prometheus
    format: alertmanager
drop:
  - name: heartbeat
    matchers: ['alertname="Watchdog"']
correlate:
  - name: by-service
    group_by: [service]
    group_wait: 5s
    group_interval: 1m
page:
  when:
    - ['severity="critical"']
  otherwise: ticket
EOF
    echo "s3cret-token" >"$work/token"
    EXTRA_CONFIG="intake: {listen: 127.0.0.1:0, bearer_token_file: $work/token, ack_timeout: 2s}" \
      write_config "$work/a.yaml" a
    # The input topic exists before noisegate subscribes (a heartbeat, as a real estate has).
    echo '[{"labels":{"alertname":"Watchdog","severity":"none"}}]' |
      kcat -P -b "$bootstrap" -t alerts.prometheus || fail "kcat could not produce"
    start_ng a "$work/a.yaml" "$work/rules.yaml"
    wait_log a 'event=intake .*port=[1-9]' 30
    port=$(sed -n 's/.*event=intake .*port=\([0-9]*\).*/\1/p' "$work/a.log" | tail -1)
    wait_status a /readyz 200 60
    free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
    am_port=$(free_port)
    prom_port=$(free_port)
    cat >"$work/alertmanager.yml" <<EOF
route:
  receiver: noisegate
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: noisegate
    webhook_configs:
      - url: http://127.0.0.1:$port/webhook/alerts.prometheus
        send_resolved: true
        http_config:
          authorization: {credentials_file: $work/token}
EOF
    cat >"$work/prometheus.yml" <<EOF
global: {evaluation_interval: 1s}
rule_files: [$work/prom_rules.yml]
alerting:
  alertmanagers:
    - static_configs: [{targets: ["127.0.0.1:$port"]}]
      authorization: {credentials_file: $work/token}
    - static_configs: [{targets: ["127.0.0.1:$am_port"]}]
EOF
    cat >"$work/prom_rules.yml" <<'EOF'
groups:
  - name: checkout
    interval: 1s
    rules:
      - alert: CheckoutErrorBudgetBurn
        expr: vector(1)
        labels: {service: checkout-api, severity: critical}
        annotations: {summary: checkout is failing its users}
EOF
    promtool check config "$work/prometheus.yml" >/dev/null || fail "promtool rejects the test's config"
    amtool check-config "$work/alertmanager.yml" >/dev/null || fail "amtool rejects the test's config"
    prometheus-alertmanager --config.file="$work/alertmanager.yml" --storage.path="$work/am" \
      --web.listen-address="127.0.0.1:$am_port" --cluster.listen-address= \
      >"$work/alertmanager.log" 2>&1 &
    am_pid=$!
    pids+=("$am_pid")
    prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prom" \
      --web.listen-address="127.0.0.1:$prom_port" --rules.alert.resend-delay=1s \
      >"$work/prometheus.log" 2>&1 &
    prom_pid=$!
    pids+=("$prom_pid")
    # Both doors deliver: Prometheus' API bodies (arrays) and Alertmanager's webhook (objects).
    t0=$SECONDS
    until (($(metric_of a 'noisegate_intake_requests_total{code="200",endpoint="alerts_api"}') >= 3 &&
      $(metric_of a 'noisegate_intake_requests_total{code="200",endpoint="webhook"}') >= 1)); do
      ((SECONDS - t0 < 90)) || fail "Prometheus and Alertmanager did not both deliver in 90 s"
      sleep 1
    done
    consume alerts.prometheus >"$work/input.seen"
    grep -q '^\[{.*CheckoutErrorBudgetBurn' "$work/input.seen" ||
      fail "no alert API body from Prometheus on the topic"
    grep -q '"receiver":"noisegate".*CheckoutErrorBudgetBurn' "$work/input.seen" ||
      fail "no webhook body from Alertmanager on the topic"
    say "Prometheus and Alertmanager delivered ($(wc -l <"$work/input.seen") bodies)"
    wait_count noisegate.pages 1 60
    sleep 5  # more bodies keep coming: a second page would come now
    triggers=$(consume noisegate.pages | grep -c '"event_action":"trigger"' || true)
    ((triggers == 1)) || fail "the alert paged $triggers times, once expected"
    consume noisegate.pages | grep -q 'checkout is failing its users' ||
      fail "the page lacks the alert's summary"
    # Prometheus saw its deliveries succeed.
    prom_errors=$(curl -s "http://127.0.0.1:$prom_port/metrics" |
      awk -v a="http://127.0.0.1:$port/api/v2/alerts" \
        'index($0, "prometheus_notifications_errors_total{alertmanager=\"" a "\"}") == 1 {print $2}')
    [[ $prom_errors == 0 ]] || fail "Prometheus counts '$prom_errors' failed notifications to noisegate"
    # No token, a wrong one: 401, and nothing stored.
    body='[{"labels":{"alertname":"Intruder","severity":"critical","service":"x"}}]'
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data "$body" \
      "http://127.0.0.1:$port/api/v2/alerts" || true)
    [[ $code == 401 ]] || fail "a request without the token was answered $code"
    code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer wrong' -X POST \
      --data "$body" "http://127.0.0.1:$port/api/v2/alerts" || true)
    [[ $code == 401 ]] || fail "a request with a wrong token was answered $code"
    consume alerts.prometheus >"$work/input.after401" || fail "kcat could not read the input topic"
    [[ -s $work/input.after401 ]] || fail "kcat read nothing of the input topic"
    if grep -q Intruder "$work/input.after401"; then fail "an unauthorized body reached the topic"; fi
    say "one page for the alert from both doors; Prometheus saw no errors; no token, no entry"
    # The senders stop; what the intake wrote replays to what live sent.
    kill "$prom_pid"
    sleep 4  # Alertmanager's last webhooks
    kill "$am_pid"
    sleep 1
    kcat -C -b "$bootstrap" -t alerts.prometheus -e -q -J -X isolation.level=read_committed \
      >"$work/capture.jsonl" 2>/dev/null
    "$NG" replay -q --rules "$work/rules.yaml" --pages "$work/r.pages" --tickets "$work/r.tickets" \
      --dlq "$work/r.dlq" --explain "$work/r.explain" "$work/capture.jsonl" 2>/dev/null
    [[ -s $work/r.pages ]] || fail "the replay of the capture paged nothing"
    wait_count noisegate.explain "$(wc -l <"$work/r.explain")" 60
    sleep 2
    expect_same pages "$work/r.pages" noisegate.pages
    expect_same tickets "$work/r.tickets" noisegate.tickets
    expect_same dead_letters "$work/r.dlq" noisegate.dlq
    expect_same explain "$work/r.explain" noisegate.explain
    # A reload that adds an input opens its webhook path.
    grafana='{"alerts":[{"status":"firing","labels":{"alertname":"GrafanaSays","severity":"warning"}}]}'
    post_grafana() {
      curl -s -o /dev/null -w '%{http_code}' -m 20 -H 'Authorization: Bearer s3cret-token' \
        -X POST --data "$grafana" "http://127.0.0.1:$port/webhook/alerts.grafana" || true
    }
    [[ $(post_grafana) == 404 ]] || fail "a topic no input reads was not 404"
    sed 's/^drop:$/  - topic: alerts.grafana\n    format: grafana\ndrop:/' "$work/rules.yaml" >"$work/rules.new"
    mv "$work/rules.new" "$work/rules.yaml"
    hup_reloads a "$ng_pid"
    [[ $(post_grafana) == 200 ]] || fail "after the reload, the new input's webhook is not 200"
    say "a reload that added an input opened /webhook/alerts.grafana"
    # The broker goes away: 503 with Retry-After within the ack timeout, not a hang or a 200.
    "$KAFKA" stop "$work/kafka"
    hdrs=$(curl -s -D - -o /dev/null -m 20 -H 'Authorization: Bearer s3cret-token' -X POST \
      --data "$body" "http://127.0.0.1:$port/api/v2/alerts" || true)
    grep -q '^HTTP/1.1 503' <<<"$hdrs" ||
      fail "with the broker down the intake answered: $(head -1 <<<"$hdrs")"
    grep -qi '^Retry-After:' <<<"$hdrs" || fail "the 503 has no Retry-After"
    "$KAFKA" restart "$work/kafka" >/dev/null
    t0=$SECONDS
    code=""
    until [[ $code == 200 ]]; do
      ((SECONDS - t0 < 90)) ||
        fail "the intake did not take bodies again after the broker came back (last $code)"
      sleep 1
      code=$(curl -s -o /dev/null -w '%{http_code}' -m 20 -H 'Authorization: Bearer s3cret-token' \
        -X POST --data "$body" "http://127.0.0.1:$port/api/v2/alerts" || true)
    done
    consume alerts.prometheus | grep -q Intruder || fail "the 200 after the outage is not on the topic"
    say "broker away: 503 with Retry-After; back: 200 and stored"
    stop_ng "$ng_pid"
    ;;

  silences)
    # amtool silences noisegate at 3 a.m.: the real amtool adds, lists and expires silences
    # through noisegate's silences API on two replicas; a silence mutes what fires after it on
    # whichever replica correlates it, across a SIGKILL of the replica that read it; once
    # expired, the alert pages; and a replay of the captured alerts and silences topics gives
    # exactly what live sent.
    cat >"$work/rules.yaml" <<'EOF'
inputs:
  - topic: alerts.prometheus
    format: alertmanager
  - topic: noisegate.silences
    format: silences
correlate:
  - name: by-alert
    group_by: [alertname]
    group_wait: 0s
page:
  when:
    - ['severity="critical"']
EOF
    "$NG" topics --config "$work/a.yaml" --rules "$work/rules.yaml" 2>>"$work/topics.log" ||
      fail "noisegate topics --rules failed"
    grep -q 'created topic noisegate.silences' "$work/topics.log" ||
      fail "noisegate topics did not create the silences topic"
    echo "s3cret-token" >"$work/token"
    printf 'authorization:\n  type: Bearer\n  credentials_file: %s\n' "$work/token" \
      >"$work/amtool_http.yml"
    for r in a b; do
      EXTRA_CONFIG="intake: {listen: 127.0.0.1:0, bearer_token_file: $work/token, ack_timeout: 2s}" \
        write_config "$work/$r.yaml" "$r"
    done
    echo '[{"labels":{"alertname":"Watchdog","severity":"none"}}]' |
      kcat -P -b "$bootstrap" -t alerts.prometheus || fail "kcat could not produce"
    start_ng a "$work/a.yaml" "$work/rules.yaml"
    a_pid=$ng_pid
    start_ng b "$work/b.yaml" "$work/rules.yaml"
    b_pid=$ng_pid
    intake_port() { sed -n 's/.*event=intake .*port=\([0-9]*\).*/\1/p' "$work/$1.log" | tail -1; }
    wait_log a 'event=intake .*port=[1-9]' 30
    wait_log b 'event=intake .*port=[1-9]' 30
    wait_status a /readyz 200 90
    wait_status b /readyz 200 90
    am() { # am REPLICA ARGS...: amtool against that replica's intake
      local r=$1
      shift
      amtool --alertmanager.url="http://127.0.0.1:$(intake_port "$r")" \
        --http.config.file="$work/amtool_http.yml" "$@" 2>>"$work/amtool.log"
    }
    post_alert() { # post_alert NAME [SEVERITY]: an alert through replica a's alert API
      local now code
      now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
      code=$(curl -s -o /dev/null -w '%{http_code}' -m 20 -H 'Authorization: Bearer s3cret-token' \
        -X POST --data "[{\"labels\":{\"alertname\":\"$1\",\"severity\":\"${2:-critical}\"},\"startsAt\":\"$now\"}]" \
        "http://127.0.0.1:$(intake_port a)/api/v2/alerts" || true)
      [[ $code == 200 ]] || fail "posting $1 was answered $code"
    }
    # (No wall-clock watermark here, so that live is a pure function of its input: event time
    # moves on with the next record. The heartbeat is that record.)
    heartbeat() {
      sleep 1
      post_alert Watchdog none
    }
    id=$(am a silence add 'alertname=~"Disk.*"' --comment="INC-42 disk swap" --author=sre \
      --duration=1h) || fail "amtool silence add failed: $(tail -3 "$work/amtool.log")"
    [[ $id =~ ^[0-9a-f-]{36}$ ]] || fail "amtool silence add printed '$id', not an id"
    am b silence query -q | grep -qx "$id" || fail "replica b does not list the silence added on a"
    am b silence query -o json | grep -q '"state":"active"' || fail "the silence is not active"
    say "amtool added silence $id on a; b lists it"
    # The worst moment: the silence is in, the alert not yet; the replica that read it dies.
    t0=$SECONDS
    until grep -q "event=silence id=\"$id\"" "$work/a.log" "$work/b.log"; do
      ((SECONDS - t0 < 60)) || fail "no replica read the silence in 60 s"
      sleep 0.5
    done
    reader=$(basename "$(grep -l "event=silence id=\"$id\"" "$work/a.log" "$work/b.log" | head -1)" .log)
    if [[ $reader == b ]]; then kill -KILL "$b_pid"; else kill -KILL "$a_pid"; fi
    sleep 1
    start_ng "$reader" "$work/$reader.yaml" "$work/rules.yaml"
    if [[ $reader == b ]]; then b_pid=$ng_pid; else a_pid=$ng_pid; fi
    wait_log "$reader" 'event=intake .*port=[1-9]' 30
    wait_status "$reader" /readyz 200 120
    say "SIGKILLed replica $reader, which had read the silence, and restarted it"
    wait_page() { # wait_page NAME: until NAME has paged
      local t0=$SECONDS
      until consume noisegate.pages | grep -q "\"source\":\"$1\""; do
        ((SECONDS - t0 < 90)) || fail "$1 did not page in 90 s"
        sleep 1
      done
    }
    post_alert DiskFull
    post_alert CpuHigh
    heartbeat
    wait_page CpuHigh
    sleep 5 # a page for DiskFull would have come with CpuHigh's
    if consume noisegate.pages | grep -q '"source":"DiskFull"'; then
      fail "the silenced DiskFull paged"
    fi
    say "the silenced alert did not page; the other one did"
    # Counted under one rule value for every runtime silence: an id is never a label.
    silenced=0
    for r in a b; do
      curl -s "http://127.0.0.1:$(admin_port "$r")/metrics" >"$work/metrics.$r" || true
      v=$(awk '/^noisegate_rule_decisions_total\{decision="silenced",rule="runtime silences"\} / {printf "%d", $NF}' "$work/metrics.$r")
      ((${v:-0} > 0)) && silenced=$((silenced + v))
      if grep -q 'rule="silence ' "$work/metrics.$r"; then fail "a silence id is a metric label on $r"; fi
    done
    ((silenced >= 1)) || fail "no replica counts the silenced alert under rule=\"runtime silences\""
    # What an SRE looks at before silencing (amtool alert query, Grafana's preview): what fires,
    # what is silenced and by which silence, and the open incident an alert is in. Asked of b,
    # which received none of these alerts itself: it reads the topics.
    am b alert query >"$work/q.active" || fail "amtool alert query failed: $(tail -3 "$work/amtool.log")"
    grep -q CpuHigh "$work/q.active" && ! grep -q DiskFull "$work/q.active" ||
      fail "amtool alert query should list CpuHigh and not the silenced DiskFull: $(cat "$work/q.active")"
    am b -o json alert query -s DiskFull >"$work/q.silenced" || fail "amtool alert query -s failed"
    grep -q "\"silencedBy\":\[\"$id\"\]" "$work/q.silenced" ||
      fail "amtool alert query -s does not show DiskFull silenced by $id: $(cat "$work/q.silenced")"
    cpu_key=$(consume noisegate.pages | grep '"source":"CpuHigh"' | head -1 | sed 's/.*"dedup_key":"\([^"]*\)".*/\1/')
    curl -s -H 'Authorization: Bearer s3cret-token' \
      "http://127.0.0.1:$(intake_port b)/api/v2/alerts?filter=alertname%3DCpuHigh" >"$work/q.cpu"
    grep -q "\"incidents\":\[\"$cpu_key\"\]" "$work/q.cpu" ||
      fail "the alert list does not name CpuHigh's incident $cpu_key: $(cat "$work/q.cpu")"
    say "amtool alert query: CpuHigh active in incident $cpu_key, DiskFull silenced by $id"
    am b silence expire "$id" || fail "amtool silence expire failed: $(tail -3 "$work/amtool.log")"
    am a silence query --expired -q | grep -qx "$id" || fail "the expired silence is not listed as expired"
    if am a silence query -q | grep -qx "$id"; then fail "the expired silence is still listed as active"; fi
    sleep 1
    post_alert DiskFull
    heartbeat
    wait_page DiskFull
    say "amtool expired the silence; DiskFull pages"
    # The captured topics replay to what live sent (the silences topic as one more dump).
    kcat -C -b "$bootstrap" -t alerts.prometheus -e -q -J -X isolation.level=read_committed \
      >"$work/alerts.jsonl" 2>/dev/null
    kcat -C -b "$bootstrap" -t noisegate.silences -e -q -J >"$work/silences.jsonl" 2>/dev/null
    [[ $(wc -l <"$work/silences.jsonl") == 2 ]] ||
      fail "the silences topic holds $(wc -l <"$work/silences.jsonl") messages, 2 expected (add, expire)"
    "$NG" replay -q --rules "$work/rules.yaml" --pages "$work/r.pages" --tickets "$work/r.tickets" \
      --dlq "$work/r.dlq" --explain "$work/r.explain" "$work/alerts.jsonl" "$work/silences.jsonl" \
      2>/dev/null
    grep -q "\"decision\":\"silenced\",\"rule\":\"silence $id\"" "$work/r.explain" ||
      fail "the replay's explain lines do not name the silence"
    expect_all_same_as_replay 60
    stop_ng "$a_pid"
    stop_ng "$b_pid"
    ;;

  *)
    fail "unknown scenario"
    ;;
esac
ok=1
say "passed"
