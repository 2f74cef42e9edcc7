#!/usr/bin/env bash
# Runs every test: installs packages, fetches Kafka and builds Helm (both cached), builds, runs
# the unit, rule, golden, live-on-Kafka and Helm chart tests (ctest), runs them again under
# ASan+UBSan (the live scenarios that exercise code the others do not: the pipeline, reloads
# and the HTTP intake), then builds the libFuzzer targets with clang and runs each for
# FUZZ_SECONDS (default 30). CI gives it 90 minutes; it should take under 30 on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
# The real Kafka broker of the live tests: jars from Maven Central, cached between runs.
bash tests/kafka/kafka.sh fetch
# Real Helm for the chart test: built once from the Go module proxy, then cached.
bash tools/helm.sh >/dev/null
bash tools/build.sh
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
status=0
(cd build && ctest --output-on-failure -j "$(nproc)" --timeout 600) | tee "$logs/unit" || status=1
# The same tests once more under AddressSanitizer and UndefinedBehaviorSanitizer.
BUILD_DIR=build-asan bash tools/build.sh -DNOISEGATE_SANITIZE=ON -DNOISEGATE_BUILD_BENCH=OFF
# The fault scenarios on Kafka run once (above); under the sanitizers the live path runs through
# the scenarios whose code paths no other test covers (the rest run the same code as these).
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ctest --output-on-failure -j "$(nproc)" --timeout 900 \
    -E 'kafka_live_(sigkill|broker_outage|scale_out|dead_letters|idle_watermark)|deploy_helm_chart') |
  tee "$logs/asan" || status=1
# Fuzz targets: a separate clang build (libFuzzer needs clang), run for FUZZ_SECONDS each.
CXX=clang++-14 BUILD_DIR=build-fuzz TARGETS="fuzz_decoders fuzz_rules" bash tools/build.sh \
  -DNOISEGATE_FUZZ=ON -DNOISEGATE_BUILD_TESTS=OFF -DNOISEGATE_BUILD_BENCH=OFF \
  -DNOISEGATE_FUZZ_SECONDS="${FUZZ_SECONDS:-30}"
(cd build-fuzz && ctest --output-on-failure -L fuzz --timeout 900) | tee "$logs/fuzz" || status=1
# One closing line over both runs.
awk '/tests passed, [0-9]+ tests failed out of/ {
       total += $NF; failed += $4
     } END { printf "%d passed, %d failed\n", total - failed, failed }' "$logs/unit" "$logs/asan" "$logs/fuzz"
exit $status
