#!/usr/bin/env bash
# Installs what noisegate needs to build and test on Debian 12 / Ubuntu (as root, or with sudo).
# Idempotent: installs only the packages that are missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  librdkafka-dev kcat libsimdjson-dev libxxhash-dev prometheus-cpp-dev libcivetweb-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev libabsl-dev libre2-dev
  libhowardhinnant-date-dev tzdata
  clang-14 libclang-rt-14-dev clang-format
  openjdk-17-jre-headless maven python3 python3-yaml curl prometheus prometheus-alertmanager
  chromium
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
