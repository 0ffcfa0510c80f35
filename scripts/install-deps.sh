#!/usr/bin/env bash
# Installs the Debian packages soap needs, only those missing, non-interactively.
# Usage: scripts/install-deps.sh   (as root, or with sudo available)
set -euo pipefail

# clang and libclang-rt-dev (compiler-rt: libFuzzer and the sanitizer runtimes for the
# default clang; clang only recommends it) are for `make fuzz`.
packages=(build-essential cmake pkg-config libjansson-dev libgsl-dev check uthash-dev gnuplot-nox
          clang libclang-rt-dev)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all present (${packages[*]})"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "deps: missing ${missing[*]} and not root (and no sudo): install them by hand" >&2
  exit 1
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
