#!/usr/bin/env bash
# Runs BINARY [ARGS...] on Mesa 26.1's lavapipe, the one software Vulkan
# driver with cooperative matrices (VK_KHR_cooperative_matrix, 8x8x8 f16
# tiles, on CPUs with AVX2). Debian bookworm's Mesa 22.3, the project's
# default driver, and 25.0 have none; trixie-backports has 26.1. The first
# call builds a minimal trixie root with it (debootstrap, about 45 s and
# 420 MB; needs root); later calls reuse it.
#
# The binary runs inside the root (chroot) with the checkout bind-mounted
# at the same path and as the working directory, so tests that read the
# checkout's files find them. Paths given to BINARY are inside the root.
#
# Usage: bash .ci/lavapipe26.sh target/debug/mwbench devices
set -euo pipefail
ROOT=${MWBENCH_MESA26_ROOT:-/var/tmp/mwbench-mesa26}
SUITE=trixie

if [ ! -e "$ROOT/usr/share/vulkan/icd.d/lvp_icd.json" ]; then
  grep -qw avx2 /proc/cpuinfo || { echo "lavapipe26: this CPU lacks AVX2, so lavapipe offers no cooperative matrices" >&2; exit 1; }
  rm -rf "$ROOT.partial"
  bash "$(dirname "$0")/debian-root.sh" "$SUITE" "$ROOT.partial"
  # The backports of the mirror the root was made from.
  MIRROR=$(awk '$1 == "deb" { print $2; exit }' "$ROOT.partial/etc/apt/sources.list")
  echo "deb $MIRROR $SUITE-backports main" > "$ROOT.partial/etc/apt/sources.list.d/backports.list"
  chroot "$ROOT.partial" apt-get update -qq
  chroot "$ROOT.partial" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends -t "$SUITE-backports" mesa-vulkan-drivers >/dev/null 2>&1
  chroot "$ROOT.partial" apt-get clean
  rm -rf "$ROOT.partial"/var/lib/apt/lists/*
  # Only a finished root is ever used.
  mv "$ROOT.partial" "$ROOT"
fi

[ $# -gt 0 ] || exit 0
bin=$(realpath "$1"); shift
checkout=$(pwd -P)
inside=/usr/local/bin/mwbench-under-test-$$
install -D -m 755 "$bin" "$ROOT$inside"
trap 'rm -f "$ROOT$inside"' EXIT
mkdir -p "$ROOT$checkout"
# A private mount namespace: the mounts go away with the command.
unshare --mount sh -c '
  checkout=$1 root=$2; shift 2
  mount --bind "$checkout" "$root$checkout" && mount -t proc proc "$root/proc" &&
  exec chroot "$root" sh -c "cd \"\$1\" && shift && exec env XDG_RUNTIME_DIR=/tmp \"\$@\"" \
    sh "$checkout" "$@"
' sh "$checkout" "$ROOT" "$inside" "$@"
