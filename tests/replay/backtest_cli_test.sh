#!/usr/bin/env bash
# noisegate backtest on the sample estate, against the incidents ng-gen-estate says it made:
# under examples/rules.yaml every incident that should page pages once, nothing else pages,
# for the seed the rules were written on and for another; without the NodeNotReady paging
# entry the node outage is reported missed; without caller_hops the payments outage pages
# twice; a broken incidents file is refused with its line.
#
#   backtest_cli_test.sh NOISEGATE GEN_ESTATE ROOT
set -euo pipefail
ng=$1 gen=$2 root=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() {
  echo "backtest_cli_test: FAIL: $*" >&2
  exit 1
}

for seed in 42 7; do
  mkdir -p "$work/$seed"
  "$gen" --out "$work/$seed" --seed "$seed" >/dev/null
  [[ -s $work/$seed/incidents.yaml ]] || fail "ng-gen-estate wrote no incidents.yaml"
  "$ng" backtest --rules "$root/examples/rules.yaml" --incidents "$work/$seed/incidents.yaml" \
    "$work/$seed"/*.jsonl >"$work/out.txt" 2>/dev/null || fail "backtest exited $?"
  grep -q '^summary: paged 3 of 3, duplicate pages 0, false pages 0' "$work/out.txt" ||
    fail "seed $seed: $(cat "$work/out.txt")"
  grep -q 'redis-cart memory warning  \[ticket\]' "$work/out.txt" || fail "no ticket incident listed"
done

grep -v "^    - \['alertname=\"NodeNotReady\"'\]" "$root/examples/rules.yaml" >"$work/no-node.yaml"
"$ng" backtest --rules "$work/no-node.yaml" --incidents "$work/42/incidents.yaml" \
  "$work/42"/*.jsonl >"$work/out.txt" 2>/dev/null
grep -q '^summary: paged 2 of 3' "$work/out.txt" || fail "without the node entry: $(cat "$work/out.txt")"
awk '/^node-4 outage/ {on=1} on && /MISSED/ {found=1} END {exit !found}' "$work/out.txt" ||
  fail "the node outage is not reported missed"

# Without caller_hops, web-frontend's errors during the payments outage (it calls
# checkout-api) page a second time.
sed 's/^    caller_hops: 1 .*$/    caller_hops: 0/' "$root/examples/rules.yaml" >"$work/no-hops.yaml"
cmp -s "$root/examples/rules.yaml" "$work/no-hops.yaml" && fail "examples/rules.yaml sets no caller_hops"
"$ng" backtest --rules "$work/no-hops.yaml" --incidents "$work/42/incidents.yaml" \
  "$work/42"/*.jsonl >"$work/out.txt" 2>/dev/null
grep -q '^summary: paged 3 of 3, duplicate pages 1,' "$work/out.txt" ||
  fail "without caller_hops: $(cat "$work/out.txt")"
awk '/^payments database outage/ {on=1} on && /DUPLICATE/ {found=1} /^$/ {on=0} END {exit !found}' \
  "$work/out.txt" || fail "the payments outage's second page is not reported a duplicate"

printf 'incidents:\n  - name: x\n    start: 2026-11-23T00:00:00Z\n    end: 2026-11-23T01:00:00Z\n    match: [[nope]]\n' \
  >"$work/bad.yaml"
set +e
"$ng" backtest --rules "$root/examples/rules.yaml" --incidents "$work/bad.yaml" \
  "$work/42"/*.jsonl >/dev/null 2>"$work/err.txt"
rc=$?
set -e
((rc == 1)) || fail "a bad incidents file exited $rc, not 1"
grep -q "bad.yaml:5:" "$work/err.txt" || fail "no file:line for the bad matcher: $(cat "$work/err.txt")"
echo "backtest_cli_test: passed"
