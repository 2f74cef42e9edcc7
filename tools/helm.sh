#!/usr/bin/env bash
# Prints the path of a Helm 3 binary, building it first from the Go module proxy if it is not
# cached (the first time takes a few minutes on 2 cores; then it is instant).
#   HELM=$(bash tools/helm.sh)
set -euo pipefail
HELM_VERSION=${HELM_VERSION:-v3.22.0}
CACHE=${NOISEGATE_HELM_CACHE:-$HOME/.cache/noisegate/helm-$HELM_VERSION}
# `go install` builds carry no version stamp of their own: a marker file says what is cached.
if [[ -x $CACHE/helm && "$(cat "$CACHE/.version" 2>/dev/null)" == "$HELM_VERSION" ]]; then
  echo "$CACHE/helm"
  exit 0
fi
export PATH=$PATH:/usr/local/go/bin
command -v go >/dev/null || { echo "helm.sh: needs Go (1.24 or newer) to build Helm" >&2; exit 1; }
mkdir -p "$CACHE"
echo "helm.sh: building Helm $HELM_VERSION with $(go version | awk '{print $3}') (cached in $CACHE)" >&2
GOBIN=$CACHE GOFLAGS=-mod=mod go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
echo "$HELM_VERSION" >"$CACHE/.version"
echo "$CACHE/helm"
