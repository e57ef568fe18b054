#!/usr/bin/env bash
# One-time machine set-up for the full test suite: Debian's prometheus and openssl, and the
# Kubernetes control plane built from the upstream Go modules (cached outside the repository).
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: please install ${need[*]} (apt-get install -y ${need[*]}) or run as root" >&2
    exit 1
  fi
  echo "setup: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
bash hack/controlplane/build.sh
