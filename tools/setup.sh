#!/usr/bin/env bash
# Installs the Debian packages Plinth needs to build, run and test.
# As root: installs what is missing. Otherwise: prints the exact apt-get line.
set -euo pipefail

PACKAGES=(
  build-essential nasm binutils python3
  grub-common grub-pc-bin grub-efi-amd64-bin xorriso mtools
  qemu-system-x86 ovmf
  bochs bochsbios vgabios bochs-term
  libcmocka-dev pkg-config
  clang
  bsdutils
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages: ${missing[*]}" >&2
  echo "setup: run as root:  apt-get update && $cmd" >&2
  exit 1
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
