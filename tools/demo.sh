#!/usr/bin/env bash
# The main job on its embedded default: installs packages, builds, starts `noisegate run` with
# no Kafka configured (it starts an in-process Kafka and prints its address), streams the
# sample estate into it, and shows the pages and tickets that come out of the paging topics.
# Then it replays the same estate offline to show the two agree.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
bash tools/build.sh
mkdir -p out/sample
./build/ng-gen-estate --out out/sample >/dev/null
rm -f out/noisegate.log

./build/noisegate run --rules examples/rules.yaml 2>out/noisegate.log &
ng=$!
trap 'kill -TERM $ng 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  bootstrap=$(sed -n 's/^noisegate: embedded Kafka at //p' out/noisegate.log)
  [[ -n $bootstrap ]] && break
  sleep 0.1
done
[[ -n $bootstrap ]] || { cat out/noisegate.log; exit 1; }
cat <<EOF

noisegate is running live on an embedded Kafka at $bootstrap (log: out/noisegate.log).
Try it by hand while it runs:
  kcat -L -b $bootstrap
  kcat -C -b $bootstrap -t noisegate.pages
Streaming the sample estate (107,000 alerts and log lines, 4 hours of event time) into it for 30 s...
EOF
# The in-process Kafka keeps only a few MB per partition: stream at a steady rate.
./build/ng-load -b "$bootstrap" --rate 3000 out/sample/*.jsonl 2>/dev/null
# Event time stops with the estate; after idle_timeout (10 s) the idle partition's clock runs
# on with the wall clock, so the last incident's group_wait still ends.
sleep 15
show() {
  kcat -C -b "$bootstrap" -t "$1" -e -q -X isolation.level=read_committed 2>/dev/null |
    python3 -c '
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    p = e["payload"]
    print("  %s  %-7s %s  %s" % (p["timestamp"], e["event_action"], e["dedup_key"], p["summary"][:90]))'
}
echo
echo "noisegate.pages (what woke a human):"
show noisegate.pages
echo "noisegate.tickets:"
show noisegate.tickets
echo "noisegate.dlq: $(kcat -C -b "$bootstrap" -t noisegate.dlq -e -q 2>/dev/null | wc -l) malformed messages, each with its reason"
kill -TERM $ng
wait $ng && echo "noisegate stopped cleanly (SIGTERM: committed, flushed, exit 0)"
trap - EXIT

echo
echo "The same estate replayed offline (noisegate replay) sends the same:"
./build/noisegate replay --rules examples/rules.yaml \
  --pages out/pages.jsonl --tickets out/tickets.jsonl --dlq out/dlq.jsonl \
  --explain out/explain.jsonl out/sample/alerts.prometheus.jsonl out/sample/alerts.newrelic.jsonl \
  out/sample/alerts.datadog.jsonl out/sample/logs.app.jsonl 2>/dev/null |
  sed -n '/^what was sent/,/^rule hits/p' | sed '$d'
echo "Replay outputs: out/pages.jsonl out/tickets.jsonl out/dlq.jsonl out/explain.jsonl"
