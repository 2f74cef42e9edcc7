#!/usr/bin/env bash
# Soak benchmark (replay; the same engine as live): a month of event time with pod churn and
# log-template churn, once with pods that restart under the same names (--reuse 10) and once
# with a new name for every firing (--reuse 1: ten times the distinct fingerprints, the same
# traffic and the same number active at any moment). Prints peak RSS after day 1, 10 and 30,
# and the state held at the end. Memory must follow what is active, not what was ever seen.
# Usage: bash bench/soak.sh [RULES] (default examples/rules.yaml). Needs a build (tools/build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
rules=${1:-examples/rules.yaml}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf '%-7s %5s %9s %10s %13s %12s %12s\n' reuse days records distinct_fp peak_rss_kib fp_held_end fp_expired
for reuse in 10 1; do
  for days in 1 10 30; do
    python3 bench/soak_gen.py --days "$days" --reuse "$reuse" --alerts "$dir/a.jsonl" --logs "$dir/l.jsonl"
    out=$(./build/noisegate replay --stats --rules "$rules" "$dir/a.jsonl" "$dir/l.jsonl")
    records=$(sed -n 's/.*stats: records=\([0-9]*\).*/\1/p' <<<"$out")
    rss=$(sed -n 's/.*peak_rss_kib=\([0-9]*\).*/\1/p' <<<"$out")
    held=$(sed -n 's/^state at the end: *\([0-9]*\) fingerprints.*/\1/p' <<<"$out")
    expired=$(sed -n 's/^state at the end:.*(\([0-9]*\) inert.*/\1/p' <<<"$out")
    pods=$((days * 86400 / 30))
    distinct=$((pods / reuse + pods / reuse / 10))
    printf '%-7s %5s %9s %10s %13s %12s %12s\n' "$reuse" "$days" "$records" "$distinct" "$rss" "$held" "$expired"
  done
done
