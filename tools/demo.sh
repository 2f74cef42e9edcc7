#!/usr/bin/env bash
# The main job on its embedded default: installs packages, builds, generates the sample estate,
# replays it through the example rules, and shows what would have paged and why.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
bash tools/build.sh
mkdir -p out/sample
./build/ng-gen-estate --out out/sample
./build/noisegate replay --rules examples/rules.yaml \
  --pages out/pages.jsonl --tickets out/tickets.jsonl --dlq out/dlq.jsonl \
  --explain out/explain.jsonl out/sample/*.jsonl
echo
echo "Outputs: out/pages.jsonl out/tickets.jsonl out/dlq.jsonl out/explain.jsonl"
