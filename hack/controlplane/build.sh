#!/usr/bin/env bash
# Build (or locate) a Kubernetes control plane for integration tests:
# kube-apiserver, kube-controller-manager and etcd, built from the upstream Go
# modules served by the Go module proxy (no Docker, no release downloads).
#
# Idempotent: binaries are cached outside the repository in
#   ${INFERSCALE_CACHE_DIR:-$HOME/.cache/inferscale}/controlplane/<k8s-version>/
# and the build is skipped when they already exist.
#
# envtest conventions are honoured: each binary is taken from
# TEST_ASSET_KUBE_APISERVER / TEST_ASSET_ETCD / TEST_ASSET_KUBE_CONTROLLER_MANAGER,
# else from $KUBEBUILDER_ASSETS/<name>; if all three resolve so, nothing is built.
#
# The LAST line on stdout is the directory holding the binaries (when they come
# from the environment: the directory of kube-apiserver). Progress goes to stderr.
#
# Usage: bash hack/controlplane/build.sh [--force]
#   --force   rebuild even if the cache is populated
# Environment:
#   INFERSCALE_CACHE_DIR   cache root (default $HOME/.cache/inferscale)
#   BUILD_JOBS             go build -p value (default: 2)
set -euo pipefail

# ---- pinned versions (keep in sync with test/support/controlplane.ts) -------
K8S_VERSION="v1.34.4"      # k8s.io/kubernetes; staging modules are v0.34.4
ETCD_VERSION="v3.6.14"     # go.etcd.io/etcd/server/v3 (k8s 1.34 ships etcd 3.6.x)
MIN_GO_MINOR=25            # etcd v3.6.14 declares go 1.25

log() { printf '[controlplane/build] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

FORCE=0
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    -h|--help) awk 'NR>1 && /^#/ {sub(/^# ?/, ""); print; next} NR>1 {exit}' "$0"; exit 0 ;;
    *) die "unknown argument: $arg" ;;
  esac
done

is_exec() { [[ -n "${1:-}" && -f "$1" && -x "$1" ]]; }

# ---- 1. envtest conventions: use pre-provided binaries -----------------------
# Per binary: TEST_ASSET_<NAME>, else $KUBEBUILDER_ASSETS/<name> (same order as
# test/support/controlplane.ts). If all three resolve this way, build nothing.
resolve_env_binary() { # $1 = env var name, $2 = file name
  local explicit="${!1:-}"
  if [[ -n "$explicit" ]]; then
    is_exec "$explicit" || die "$1=$explicit is not an executable file"
    echo "$explicit"; return 0
  fi
  if [[ -n "${KUBEBUILDER_ASSETS:-}" ]] && is_exec "$KUBEBUILDER_ASSETS/$2"; then
    echo "$KUBEBUILDER_ASSETS/$2"; return 0
  fi
  return 1
}
for v in TEST_ASSET_KUBE_APISERVER TEST_ASSET_ETCD TEST_ASSET_KUBE_CONTROLLER_MANAGER; do
  [[ -z "${!v:-}" ]] || is_exec "${!v}" || die "$v=${!v} is not an executable file"
done
if env_apiserver="$(resolve_env_binary TEST_ASSET_KUBE_APISERVER kube-apiserver)" \
   && resolve_env_binary TEST_ASSET_ETCD etcd >/dev/null \
   && resolve_env_binary TEST_ASSET_KUBE_CONTROLLER_MANAGER kube-controller-manager >/dev/null; then
  log "using binaries from TEST_ASSET_* / KUBEBUILDER_ASSETS; nothing to build"
  dirname "$env_apiserver"
  exit 0
fi
if [[ -n "${KUBEBUILDER_ASSETS:-}${TEST_ASSET_KUBE_APISERVER:-}${TEST_ASSET_ETCD:-}${TEST_ASSET_KUBE_CONTROLLER_MANAGER:-}" ]]; then
  log "TEST_ASSET_* / KUBEBUILDER_ASSETS do not provide all three binaries; building the rest into the cache"
fi

# ---- 2. cache --------------------------------------------------------------
CACHE_ROOT="${INFERSCALE_CACHE_DIR:-$HOME/.cache/inferscale}"
OUT_DIR="$CACHE_ROOT/controlplane/$K8S_VERSION"
STAMP="$OUT_DIR/.built"
STAMP_CONTENT="kubernetes=$K8S_VERSION etcd=$ETCD_VERSION"

if [[ $FORCE -eq 0 && -f "$STAMP" && "$(cat "$STAMP")" == "$STAMP_CONTENT" ]] \
   && is_exec "$OUT_DIR/kube-apiserver" && is_exec "$OUT_DIR/kube-controller-manager" && is_exec "$OUT_DIR/etcd"; then
  log "cached: $OUT_DIR ($STAMP_CONTENT)"
  echo "$OUT_DIR"
  exit 0
fi

# ---- 3. build ----------------------------------------------------------------
command -v go >/dev/null 2>&1 || die "go is not installed (need Go >= 1.$MIN_GO_MINOR)"
GO_MINOR="$(go env GOVERSION | sed -nE 's/^go1\.([0-9]+).*/\1/p')"
[[ -n "$GO_MINOR" && "$GO_MINOR" -ge "$MIN_GO_MINOR" ]] || die "need Go >= 1.$MIN_GO_MINOR, have $(go env GOVERSION)"

# Never fetch another Go toolchain; keep parallelism sane on small machines.
export GOTOOLCHAIN=local
export CGO_ENABLED=0
export GOFLAGS="-mod=mod -buildvcs=false"
JOBS="${BUILD_JOBS:-2}"
# GOMODCACHE / GOCACHE: whatever `go env` says (default $HOME/go/pkg/mod and
# $HOME/.cache/go-build), so they persist between runs.

mkdir -p "$OUT_DIR"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/inferscale-cp-build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

K8S_MINOR_VERSION="${K8S_VERSION#v1.}"          # 34.4
STAGING_VERSION="v0.${K8S_MINOR_VERSION}"        # v0.34.4
K8S_MAJOR=1
K8S_MINOR="${K8S_MINOR_VERSION%%.*}"             # 34

start_ts=$(date +%s)

# 3a. Kubernetes: a throwaway module requiring k8s.io/kubernetes, with every
#     staging module (k8s.io/x => ./staging/src/k8s.io/x in its go.mod)
#     replaced by the published v0.Y.Z of the same release.
log "building kube-apiserver + kube-controller-manager $K8S_VERSION (staging $STAGING_VERSION) in $WORK/k8s"
mkdir -p "$WORK/k8s"
(
  cd "$WORK/k8s"
  go mod init inferscale.local/controlplane-build >/dev/null 2>&1
  go mod edit -go=1.24.0
  go mod edit -require="k8s.io/kubernetes@$K8S_VERSION"
  K8S_MOD_DIR="$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -nE 's/^\s*"GoMod": "(.*)",?$/\1/p')"
  [[ -f "$K8S_MOD_DIR" ]] || die "could not download k8s.io/kubernetes@$K8S_VERSION go.mod"
  # staging modules that k8s.io/kubernetes actually requires (sample-* are not published for every patch)
  mapfile -t STAGING < <(
    awk '/=> \.\/staging\/src\// {print $1}' "$K8S_MOD_DIR" | sort -u
  )
  [[ ${#STAGING[@]} -gt 10 ]] || die "found only ${#STAGING[@]} staging modules in $K8S_MOD_DIR"
  for m in "${STAGING[@]}"; do
    if grep -qE "^\s+$m v" "$K8S_MOD_DIR"; then
      go mod edit -replace="$m=$m@$STAGING_VERSION"
    fi
  done
  cat > tools.go <<'EOF'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
EOF
  go mod tidy >&2
  build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  ver_flags=""
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ver_flags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=$K8S_MAJOR -X $pkg.gitMinor=$K8S_MINOR"
    ver_flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
  done
  for cmd in kube-apiserver kube-controller-manager; do
    t0=$(date +%s)
    go build -p "$JOBS" -trimpath -ldflags "-s -w$ver_flags" -o "$OUT_DIR/$cmd.tmp" "k8s.io/kubernetes/cmd/$cmd"
    mv -f "$OUT_DIR/$cmd.tmp" "$OUT_DIR/$cmd"
    log "built $cmd in $(( $(date +%s) - t0 ))s"
  done
)

# 3b. etcd from its own module (so its dependency versions are its own).
log "building etcd $ETCD_VERSION in $WORK/etcd"
mkdir -p "$WORK/etcd"
(
  cd "$WORK/etcd"
  go mod init inferscale.local/etcd-build >/dev/null 2>&1
  go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >&2
  cat > tools.go <<'EOF'
//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3"
EOF
  go mod tidy >&2
  t0=$(date +%s)
  go build -p "$JOBS" -trimpath -ldflags "-s -w" -o "$OUT_DIR/etcd.tmp" "go.etcd.io/etcd/server/v3"
  mv -f "$OUT_DIR/etcd.tmp" "$OUT_DIR/etcd"
  log "built etcd in $(( $(date +%s) - t0 ))s"
)

echo "$STAMP_CONTENT" > "$STAMP"
log "done in $(( $(date +%s) - start_ts ))s:"
for b in kube-apiserver kube-controller-manager etcd; do
  log "  $(du -h "$OUT_DIR/$b" | cut -f1)  $OUT_DIR/$b"
done
"$OUT_DIR/kube-apiserver" --version >&2 || true
"$OUT_DIR/etcd" --version >&2 || true
echo "$OUT_DIR"
