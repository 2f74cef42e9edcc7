#!/usr/bin/env bash
# Golden replay scenario: replays a scenario folder's input through its rules and compares every
# output with the reviewed files in expected/. The replay runs twice: the outputs must be
# byte-identical (determinism). UPDATE_GOLDEN=1 rewrites expected/ (then read the diff!).
#
#   run_scenario.sh NOISEGATE GEN_ESTATE SCENARIO_DIR
set -euo pipefail
ng=$1 gen=$2 dir=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

rules="$dir/rules.yaml"
[ -f "$rules" ] || rules=$(cat "$dir/rules.path")  # a scenario may reuse a rules file
rules=$(cd "$(dirname "$0")/../.." && realpath "$rules")
if [ -f "$dir/generate" ]; then
  mkdir -p "$work/input"
  # shellcheck disable=SC2046
  "$gen" --out "$work/input" $(cat "$dir/generate") >/dev/null
  inputs=("$work"/input/*.jsonl)
else
  inputs=()
  for f in "$dir"/input/*.jsonl; do inputs+=("$f"); done
  for f in "$dir"/input/*.values; do  # bare message values: FILE is TOPIC.values
    [ -e "$f" ] && inputs+=(--topic "$(basename "$f" .values)=$f")
  done
fi

run() {
  local out=$1
  mkdir -p "$out"
  "$ng" replay --rules "$rules" --pages "$out/pages.jsonl" --tickets "$out/tickets.jsonl" \
    --dlq "$out/dlq.jsonl" --explain "$out/explain.jsonl" "${inputs[@]}" \
    >"$out/summary.txt" 2>"$out/stderr.txt"
  # Paths in stderr depend on where the inputs are: keep only the part after the folder.
  sed -i -E 's#[^ ]*/(input/[^:]*)#\1#' "$out/stderr.txt"
}
run "$work/a"
run "$work/b"
for f in pages.jsonl tickets.jsonl dlq.jsonl explain.jsonl summary.txt; do
  cmp -s "$work/a/$f" "$work/b/$f" || { echo "FAIL: $f differs between two identical replays"; exit 1; }
done

# Explain logs can be large: the golden keeps the full log when small, else its decision counts.
lines=$(wc -l <"$work/a/explain.jsonl")
if [ "$lines" -gt 2000 ]; then
  sed -E 's/.*"decision":"([a-z_]+)","rule":("[^"]*"|null).*/\1 \2/' "$work/a/explain.jsonl" |
    sort | uniq -c | sort -k2 >"$work/a/explain.counts"
  rm "$work/a/explain.jsonl"
fi

if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then
  rm -rf "$dir/expected"
  mkdir -p "$dir/expected"
  cp "$work"/a/* "$dir/expected/"
  echo "updated $dir/expected"
  exit 0
fi
status=0
for f in "$work"/a/*; do
  name=$(basename "$f")
  if ! diff -u "$dir/expected/$name" "$f" >"$work/diff.txt" 2>&1; then
    echo "FAIL: $name differs from $dir/expected/$name"
    head -60 "$work/diff.txt"
    status=1
  fi
done
[ "$status" = 0 ] && echo "OK: $(basename "$dir") matches expected/ ($(wc -l <"$work/a/summary.txt") summary lines)"
exit $status
