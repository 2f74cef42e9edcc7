#!/usr/bin/env bash
# The varied estates (ng-gen-estate --varied), the yardstick for rules not tuned on an estate:
# a seed gives the same bytes every time and another seed another estate; the catalog it
# writes, put in place of examples/rules.yaml's topology, makes valid rules that keep every
# other section; over a few seeds every kind of failure is drawn; and every labelled
# incident holds records of the capture, alerts where its kind sends them.
#
#   varied_estate_test.sh NOISEGATE GEN_ESTATE ROOT
set -euo pipefail
ng=$1 gen=$2 root=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() {
  echo "varied_estate_test: FAIL: $*" >&2
  exit 1
}

"$gen" --varied --rules "$root/examples/rules.yaml" --out "$work/a" --seed 11 >/dev/null
"$gen" --varied --rules "$root/examples/rules.yaml" --out "$work/b" --seed 11 >/dev/null
"$gen" --varied --out "$work/c" --seed 12 >/dev/null
diff -r "$work/a" "$work/b" >/dev/null || fail "seed 11 wrote two different estates"
cmp -s "$work/a/logs.app.jsonl" "$work/c/logs.app.jsonl" && fail "seeds 11 and 12 wrote the same logs"
cmp -s "$work/a/topology.yaml" "$work/c/topology.yaml" && fail "seeds 11 and 12 drew the same catalog"
[[ ! -e $work/c/rules.yaml ]] || fail "rules.yaml written without --rules"
"$gen" --rules "$root/examples/rules.yaml" --out "$work/d" >/dev/null 2>&1 &&
  fail "--rules accepted without --varied"

# The rules: examples/rules.yaml's sections, the topology replaced by the estate's catalog.
"$ng" check "$work/a/rules.yaml" >"$work/check.txt" || fail "invalid rules: $(cat "$work/check.txt")"
grep -q "(4 inputs, 2 correlate rules, 1 silences, 1 inhibit rules)" "$work/check.txt" ||
  fail "sections lost: $(cat "$work/check.txt")"
[[ $(grep -c '^topology:' "$work/a/rules.yaml") == 1 ]] || fail "not one topology section"
grep -q 'web-frontend: {user_facing: true, depends_on: \[checkout-api' "$work/a/rules.yaml" &&
  fail "the sample estate's catalog is still in the rules"
diff <(sed -n '/^topology:/,$p' "$work/a/rules.yaml") "$work/a/topology.yaml" >/dev/null ||
  fail "the catalog is not the estate's"

kinds=""
for seed in 1 2 3 4 5; do
  dir=$work/s$seed
  "$gen" --varied --rules "$root/examples/rules.yaml" --out "$dir" --seed "$seed" --hours 6 >/dev/null
  "$ng" backtest --rules "$dir/rules.yaml" --incidents "$dir/incidents.yaml" "$dir"/*.jsonl \
    >"$dir/out.txt" 2>/dev/null || fail "seed $seed: backtest exited $?"
  ! grep -q "no record of the capture matches it" "$dir/out.txt" ||
    fail "seed $seed: an incident without records: $(grep -B1 'no record' "$dir/out.txt")"
  # Every kind but the failover (logs only) brings alerts.
  awk '/^[^ ].*\[(page|ticket)\]$/ {name = $0} /^  records:/ {
         gsub(/[()]/, "", $3); if (name !~ /failover/ && $3 + 0 == 0) { print name; bad = 1 } }
       END { exit bad }' "$dir/out.txt" >"$dir/noalerts.txt" ||
    fail "seed $seed: incidents without alerts: $(cat "$dir/noalerts.txt")"
  # The kinds, by name: "users-db outage (slow start)" -> "db outage", "node-04 outage" ->
  # "node outage", "eu-central-1a zone outage" -> "zone outage".
  kinds+=$(sed -n 's/^  - name: //p' "$dir/incidents.yaml" | sed 's/ (.*)$//' |
    sed -E 's/^node-[0-9]+ /node /; t; s/^[a-z]+-(db|cache|queue) /\1 /; t; s/^[a-z0-9-]+ //' |
    sort -u)$'\n'
done
for kind in "db outage" "cache outage" "queue outage" "db failover" "node outage" \
  "node network partition" "zone outage" "bad deploy" "(db|cache|queue) disk filling"; do
  grep -Eqx "$kind" <<<"$kinds" || fail "no $kind in seeds 1-5: $(sort -u <<<"$kinds" | tr '\n' ,)"
done
echo "varied_estate_test: passed"
