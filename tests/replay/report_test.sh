#!/usr/bin/env bash
# The replay report in a real browser (Debian's chromium, headless): the sample estate's report
# opens without a console message, its script runs, every incident paged has its card saying
# why it paged, a ticket's card says why it did not page, and a search (in the URL, as a link
# would carry it) shows the database outage and hides the rest. With --diff against rules
# whose user-impact group_wait is 90 s, the report lists the incidents whose pages moved, says
# so on their cards, and a search for "diff-changed" shows just those.
#
#   report_test.sh NOISEGATE GEN_ESTATE ROOT
set -euo pipefail
ng=$1 gen=$2 root=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() {
  echo "report_test: FAIL: $*" >&2
  exit 1
}
command -v chromium >/dev/null || fail "chromium is not installed (bash tools/setup.sh)"

mkdir -p "$work/in"
"$gen" --out "$work/in" >/dev/null
"$ng" replay -q --rules "$root/examples/rules.yaml" --pages "$work/pages.jsonl" \
  --tickets "$work/tickets.jsonl" --report "$work/report.html" "$work"/in/*.jsonl 2>/dev/null
[[ -s $work/report.html ]] || fail "no report written"
grep -q '<script src=\|<link [^>]*href="http' "$work/report.html" && fail "the report loads something"

# The page as the browser leaves it after its scripts ran.
browse() {
  timeout 120 chromium --headless --no-sandbox --disable-gpu --enable-logging=stderr --v=0 \
    --user-data-dir="$work/profile" --dump-dom "file://$work/report.html$1" 2>"$work/browser.log"
}
card() { grep -o "<section class=\"incident\" id=\"$2\"[^>]*>" <<<"$1" || true; }

dom=$(browse "")
grep -q 'data-ready="1"' <<<"$dom" || fail "the report's script did not run to its end"
if grep CONSOLE "$work/browser.log"; then fail "the browser console has messages"; fi
incidents=$(grep -c '<section class="incident"' <<<"$dom" || true)
shown=$(grep -o 'data-shown="[0-9]*"' <<<"$dom" | grep -o '[0-9]*')
((incidents >= 5 && shown == incidents)) || fail "$shown of $incidents incidents shown unsearched"

db=""
while read -r line; do
  key=$(grep -o '"dedup_key":"[^"]*"' <<<"$line" | cut -d'"' -f4)
  [[ -n $(card "$dom" "$key") ]] || fail "no card for paged incident $key"
  grep -q '"event_action":"trigger"' <<<"$line" && grep -q 'pg-payments-0 is down' <<<"$line" && db=$key
done <"$work/pages.jsonl"
[[ -n $db ]] || fail "the database outage did not page in the replay"
# (The entry it met, as written in the rules with its line: a critical alert of a service users
# touch.)
awk -v k="$db" '$0 ~ "id=\"" k "\"" {on=1} on && /Paged: it meets the <code>page.when<\/code> entry <code>.*severity=.*critical.*rules.yaml:[0-9]+/ {found=1} on && /<\/section>/ {exit} END {exit !found}' \
  <<<"$dom" || fail "the database outage's card does not name the page.when entry it met"
ticket=$(grep -o '"dedup_key":"[^"]*"' "$work/tickets.jsonl" | head -1 | cut -d'"' -f4)
awk -v k="$ticket" '$0 ~ "id=\"" k "\"" {on=1} on && /Not paged: / {found=1} on && /<\/section>/ {exit} END {exit !found}' \
  <<<"$dom" || fail "ticket $ticket's card does not say why it did not page"

dom=$(browse "#q=pg-payments-0")
if grep CONSOLE "$work/browser.log"; then fail "the browser console has messages (search)"; fi
shown=$(grep -o 'data-shown="[0-9]*"' <<<"$dom" | grep -o '[0-9]*')
((shown >= 1 && shown < incidents)) || fail "search pg-payments-0 shows $shown of $incidents"
card "$dom" "$db" | grep -q 'display: none' && fail "search pg-payments-0 hides the database outage"
card "$dom" "$ticket" | grep -q 'display: none' || fail "search pg-payments-0 shows ticket $ticket"

# --diff: the user-impact incidents page 60 s later under the other rules.
awk '/name: user-impact/ {u=1} u && /group_wait:/ {sub(/30s/, "90s"); u=0} {print}' \
  "$root/examples/rules.yaml" >"$work/later.yaml"
set +e
"$ng" replay -q --rules "$root/examples/rules.yaml" --diff "$work/later.yaml" \
  --report "$work/report.html" "$work"/in/*.jsonl >"$work/diff.txt" 2>/dev/null
rc=$?
set -e
((rc == 1)) || fail "replay --diff exited $rc, not 1 (differences found)"
grep -q '(+1m)' "$work/diff.txt" || fail "the printed diff has no page 1m later: $(cat "$work/diff.txt")"
printed=$(grep -c '^  changed: ' "$work/diff.txt" || true)
dom=$(browse "#q=diff-changed")
if grep CONSOLE "$work/browser.log"; then fail "the browser console has messages (diff)"; fi
grep -q '<h2 id="diff">Compared with' <<<"$dom" || fail "the report has no diff section"
rows=$(grep -c '<tr class="diff-row"><td>changed</td>' <<<"$dom" || true)
((rows == printed && rows >= 1)) || fail "the report lists $rows changed incidents, the diff printed $printed"
grep -q '(+1m)' <<<"$dom" || fail "the report's diff does not show the page 1m later"
changed=$(grep -o 'data-shown="[0-9]*"' <<<"$dom" | grep -o '[0-9]*')
((changed == rows)) || fail "search diff-changed shows $changed cards, $rows incidents changed"
card "$dom" "$db" | grep -q 'display: none' && fail "the database outage's page did not move"
echo "report_test: passed ($incidents incidents, search shows $shown, $rows changed under --diff)"
