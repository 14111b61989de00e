#!/usr/bin/env bash
# Makes ROOT a minimal Debian SUITE (debootstrap's minbase variant, from
# the mirror apt already uses on this machine), unless ROOT exists: the
# software drivers' roots (.ci/lavapipe26.sh) and the container test's
# base image (deploy/container/test-local.sh) start from one. Needs root;
# about 25-45 s and 200 MB. Only a finished root is ever used.
#
# Usage: bash .ci/debian-root.sh SUITE ROOT
set -euo pipefail
suite=$1 root=$2
[ -e "$root/etc/debian_version" ] && exit 0

# The Debian mirror this machine's apt already uses.
mirror=${MWBENCH_DEBIAN_MIRROR:-$(awk '($1 == "URIs:" || $1 == "deb") && !/security/ { print $2; exit }' \
  /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)}
mirror=${mirror:-http://deb.debian.org/debian}
if ! command -v debootstrap >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi
rm -rf "$root.partial"
debootstrap --variant=minbase "$suite" "$root.partial" "$mirror" >/dev/null
mv "$root.partial" "$root"
