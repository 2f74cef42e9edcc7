#!/usr/bin/env bash
# noisegate backtest on the sample estate, against the incidents ng-gen-estate says it made:
# under examples/rules.yaml every incident that should page pages once, nothing else pages,
# for the seed the rules were written on and for another; without the NodeNotReady paging
# entry the node outage is reported missed; without the evidence ties (caller_hops,
# join_named, join_colocated) or the place inventory, outages page two or three times; a
# broken incidents file is refused with its line.
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
  grep -q '^summary: paged 6 of 6, duplicate pages 0, false pages 0' "$work/out.txt" ||
    fail "seed $seed: $(cat "$work/out.txt")"
  grep -q 'redis-cart memory warning  \[ticket\]' "$work/out.txt" || fail "no ticket incident listed"
done

grep -v "^    - \['alertname=\"NodeNotReady\"'\]" "$root/examples/rules.yaml" >"$work/no-node.yaml"
"$ng" backtest --rules "$work/no-node.yaml" --incidents "$work/42/incidents.yaml" \
  "$work/42"/*.jsonl >"$work/out.txt" 2>/dev/null
grep -q '^summary: paged 5 of 6' "$work/out.txt" || fail "without the node entry: $(cat "$work/out.txt")"
awk '/^node-4 outage/ {on=1} on && /MISSED/ {found=1} END {exit !found}' "$work/out.txt" ||
  fail "the node outage is not reported missed"

# The evidence ties. Without caller_hops and join_named, web-frontend's errors during the
# payments outage (it calls checkout-api) and checkout-api's during the users-db failover
# (they name users-db in their stack traces) each page a second time; with caller_hops alone,
# only the failover's do. Without join_colocated, the two services cut off with node-1 and the
# node's own alert page three times, and so do search-api and the alerts of the two nodes of
# zone eu-west-1c. Without the place inventory, the alert of node-6 (which runs no service
# and whose alert carries no zone) pages apart.
reported_duplicate() {  # INCIDENT FILE
  awk -v name="$1" 'index($0, name) == 1 {on=1} on && /DUPLICATE/ {found=1} /^$/ {on=0}
    END {exit !found}' "$2"
}
sed -e 's/^    caller_hops: 1 .*$/    caller_hops: 0/' -e 's/^    join_named: true .*$/    join_named: false/' \
  "$root/examples/rules.yaml" >"$work/no-ties.yaml"
grep -v '^    join_named: true' "$root/examples/rules.yaml" >"$work/no-named.yaml"
grep -v '^    join_colocated:' "$root/examples/rules.yaml" >"$work/no-colocated.yaml"
awk '/^  places:/ {skip=1; next} skip && /^    / {next} {skip=0; print}' \
  "$root/examples/rules.yaml" >"$work/no-places.yaml"
for f in no-ties no-named no-colocated no-places; do
  cmp -s "$root/examples/rules.yaml" "$work/$f.yaml" && fail "examples/rules.yaml lost its ties"
done
# expect_duplicates RULES N INCIDENT...: under RULES, N duplicate pages, of these incidents.
expect_duplicates() {
  local rules=$1 n=$2 name
  shift 2
  "$ng" backtest --rules "$work/$rules.yaml" --incidents "$work/42/incidents.yaml" \
    "$work/42"/*.jsonl >"$work/out.txt" 2>/dev/null
  grep -q "^summary: paged 6 of 6, duplicate pages $n," "$work/out.txt" ||
    fail "$rules: $(cat "$work/out.txt")"
  for name in "$@"; do
    reported_duplicate "$name" "$work/out.txt" || fail "$rules: $name paged no duplicate"
  done
}
expect_duplicates no-ties 2 "payments database outage" "users-db failover"
expect_duplicates no-named 1 "users-db failover"
expect_duplicates no-colocated 4 "node-1 network partition" "zone eu-west-1c outage"
expect_duplicates no-places 1 "zone eu-west-1c outage"

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
