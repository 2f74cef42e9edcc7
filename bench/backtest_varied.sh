#!/usr/bin/env bash
# Backtests rules on varied estates (ng-gen-estate --varied): for each seed, the estate's own
# service catalog (its topology.yaml) replaces the rules' `topology:` section, the estate is
# replayed, and `noisegate backtest` scores it against the incidents the generator made. The
# rules are otherwise the same for every seed, as rules written from a catalog alone would
# be. Prints each seed's summary and the sums over all seeds.
#
#   bash bench/backtest_varied.sh [RULES] [SEED...]     (default examples/rules.yaml, 1..5)
#
# BUILD_DIR picks the binaries (default build); KEEP=DIR keeps each seed's estate, rules and
# full backtest report in DIR/SEED.
set -euo pipefail
# Paths given relative to where it was started from, before moving to the repository.
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath -m "${BUILD_DIR:-$root/build}")
rules=$(realpath -m "${1:-$root/examples/rules.yaml}")
shift || true
seeds=("$@")
[[ ${#seeds[@]} -gt 0 ]] || seeds=(1 2 3 4 5)
work=$(realpath -m "${KEEP:-$(mktemp -d)}")
mkdir -p "$work"
[[ -n ${KEEP:-} ]] || trap 'rm -rf "$work"' EXIT
for seed in "${seeds[@]}"; do
  dir=$work/$seed
  mkdir -p "$dir"
  "$build/ng-gen-estate" --varied --rules "$rules" --out "$dir" --seed "$seed" --hours 6 >/dev/null
  "$build/noisegate" backtest --rules "$dir/rules.yaml" --incidents "$dir/incidents.yaml" \
    "$dir"/*.jsonl >"$dir/backtest.txt"
  echo "seed $seed: $(grep -A1 '^summary:' "$dir/backtest.txt" | tr -s ' \n' ' ')"
done | tee "$work/summary.txt"
awk '{
  for (i = 1; i <= NF; i++) {
    if ($i == "paged" && $(i + 2) == "of") { paged += $(i + 1); want += $(i + 3) }
    if ($i == "duplicate") dup += $(i + 2)
    if ($i == "false" && $(i + 1) == "pages") fp += $(i + 2)
  }
} END { printf "all seeds: paged %d of %d, duplicate pages %d, false pages %d\n", paged, want, dup, fp }' \
  "$work/summary.txt"
