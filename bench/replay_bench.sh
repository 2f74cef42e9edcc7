#!/usr/bin/env bash
# End-to-end replay benchmark: generates an estate of more than 1M records (alerts and logs
# mixed), replays it through the example rules with every output written, and prints records
# per CPU second and peak RSS; then the floor (simdjson On-Demand alone reading the same
# envelopes and payloads, bench/dump_floor.cc) and replay's share of it, measured in the same
# run. Usage: bash bench/replay_bench.sh [SCALE] (default 20).
set -euo pipefail
cd "$(dirname "$0")/.."
scale=${1:-20}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
./build/ng-gen-estate --out "$dir" --scale "$scale" --hours 4
ls -l "$dir" | awk 'NR>1 {s+=$5} END {printf "dump: %.0f MB\n", s/1e6}'
./build/noisegate replay --stats --rules examples/rules.yaml --pages "$dir/pages" \
  --tickets "$dir/tickets" --dlq "$dir/dlq" --explain "$dir/explain" "$dir"/*.jsonl |
  grep -E "records in|pages:|reduction|stats:" | tee "$dir/replay.out"
./build/bench/dump_floor "$dir"/*.jsonl | tee "$dir/floor.out"
replay_rate=$(grep -o 'messages_per_cpu_second=[0-9]*' "$dir/replay.out" | cut -d= -f2)
floor_rate=$(grep -o 'messages_per_cpu_second=[0-9]*' "$dir/floor.out" | cut -d= -f2)
awk -v r="$replay_rate" -v f="$floor_rate" \
  'BEGIN { printf "replay at %.0f%% of the floor (%d vs %d messages per CPU second)\n", 100 * r / f, r, f }'
