#!/usr/bin/env bash
# Runs every test: installs packages, builds, runs the unit and golden tests (ctest), then
# builds the libFuzzer targets with clang and runs each for FUZZ_SECONDS (default 60).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
bash tools/build.sh
(cd build && ctest --output-on-failure -j "$(nproc)" --timeout 600)
# Fuzz targets: a separate clang build (libFuzzer needs clang), run for FUZZ_SECONDS each.
CXX=clang++-14 BUILD_DIR=build-fuzz TARGETS="fuzz_decoders fuzz_rules" bash tools/build.sh \
  -DNOISEGATE_FUZZ=ON -DNOISEGATE_BUILD_TESTS=OFF -DNOISEGATE_BUILD_BENCH=OFF \
  -DNOISEGATE_FUZZ_SECONDS="${FUZZ_SECONDS:-60}"
(cd build-fuzz && ctest --output-on-failure -L fuzz --timeout 900)
