#!/usr/bin/env bash
# Builds deploy/container/Containerfile for real and runs the image on
# lavapipe: `mwbench devices`, then a quick sha256d run whose result file
# must land, verified, on the volume, written by the image's non-root user.
#
# A machine without a registry (CI) cannot pull the Containerfile's base
# images, so this makes stand-ins for them from a debootstrap'd Debian
# root: debian:trixie-slim is the root itself, rust:slim-trixie the root
# with a C toolchain and this machine's Rust toolchain mounted into the
# build. buildah builds with the vfs storage driver and chroot isolation,
# the two that work inside an unprivileged CI sandbox. The root and the
# stand-in images are kept between runs; the first run takes a few minutes
# more (the release build).
#
# Usage: bash deploy/container/test-local.sh     (as root)
set -euo pipefail
cd "$(dirname "$0")/../.."

export STORAGE_DRIVER=vfs BUILDAH_ISOLATION=chroot
root=${MWBENCH_TRIXIE_ROOT:-/var/tmp/mwbench-trixie-base}
base=localhost/mwbench-ci/debian:trixie-slim
rust=localhost/mwbench-ci/rust:slim-trixie
image=localhost/mwbench:test

fail() { echo "container test: $*" >&2; exit 1; }
elapsed() { echo "$(( $(date +%s) - $1 )) s"; }

if ! command -v buildah >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends buildah >/dev/null
fi

if ! buildah inspect --type image "$base" >/dev/null 2>&1; then
  start=$(date +%s)
  bash .ci/debian-root.sh trixie "$root"
  # As Debian's slim images: no documentation, no package lists.
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/*
  printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-exclude /usr/share/man/*' \
    'path-exclude /usr/share/locale/*' > "$root/etc/dpkg/dpkg.cfg.d/slim"
  ctr=$(buildah from scratch)
  buildah copy --quiet "$ctr" "$root" / >/dev/null
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --cmd bash "$ctr"
  buildah commit --quiet --rm "$ctr" "$base" >/dev/null
  echo "container test: base image from a debootstrap root in $(elapsed "$start")"
fi

if ! buildah inspect --type image "$rust" >/dev/null 2>&1; then
  start=$(date +%s)
  ctr=$(buildah from "$base")
  buildah run "$ctr" -- sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends gcc libc6-dev ca-certificates >/dev/null \
    && rm -rf /var/lib/apt/lists/*'
  # Where the official rust images keep the toolchain; the build mounts
  # this machine's there.
  buildah config --env RUSTUP_HOME=/usr/local/rustup --env CARGO_HOME=/usr/local/cargo \
    --env PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$ctr"
  buildah commit --quiet --rm "$ctr" "$rust" >/dev/null
  echo "container test: build image in $(elapsed "$start")"
fi

start=$(date +%s)
buildah build --quiet --layers=false -f deploy/container/Containerfile \
  --build-arg RUST_IMAGE="$rust" --build-arg BASE_IMAGE="$base" \
  --volume "${RUSTUP_HOME:-$HOME/.rustup}:/usr/local/rustup:ro" \
  --volume "${CARGO_HOME:-$HOME/.cargo}:/usr/local/cargo" \
  -t "$image" . >/dev/null
size=$(buildah images --format '{{.Size}}' "$image")
echo "container test: built $image in $(elapsed "$start"), $size"

# What the Kubernetes Job relies on: the entrypoint it appends its
# arguments to, the user, and the NVIDIA runtime's settings.
config() { buildah inspect --type image --format "$1" "$image"; }
# (buildah 1.28's templates have no json function: Go's own print forms.)
entrypoint=$(config '{{.OCIv1.Config.Entrypoint}}')
[ "$entrypoint" = '[mwbench]' ] || fail "entrypoint is $entrypoint"
[ "$(config '{{.OCIv1.Config.User}}')" = 10001:10001 ] || fail "user is $(config '{{.OCIv1.Config.User}}')"
env=$(config '{{range .OCIv1.Config.Env}}{{println .}}{{end}}')
for want in NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics NVIDIA_VISIBLE_DEVICES=all XDG_RUNTIME_DIR=/tmp; do
  grep -qx "$want" <<< "$env" || fail "no $want in the image's environment: $env"
done

volume=$(mktemp -d)
ctr=$(buildah from "$image")
# buildah run puts an anonymous volume of its own over /results (the
# image's VOLUME), shadowing any directory mounted there; a runtime
# (podman, Kubernetes) mounts the given one instead. Dropped from this
# working container, so the directory below is the volume as there.
buildah config --volume /results- "$ctr"
trap 'buildah rm "$ctr" >/dev/null; buildah rmi "$image" >/dev/null; rm -rf "$volume"' EXIT
# The volume belongs to the image's user, as a pod's fsGroup makes it.
chown 10001:10001 "$volume"
inside() { buildah run --volume "$volume:/results" "$ctr" -- mwbench "$@"; }

[ "$(buildah run "$ctr" -- id -u)" = 10001 ] || fail "the image does not run as its user"
devices=$(inside devices)
echo "$devices"
grep -q llvmpipe <<< "$devices" || fail "mwbench devices in the image lists no lavapipe"
start=$(date +%s)
inside run --quick --workloads sha256d --watts 100 --out /results/node-0.json
echo "container test: sha256d in the image in $(elapsed "$start")"
file="$volume/node-0.json"
[ -f "$file" ] || fail "no result file on the volume: $(ls -A "$volume")"
[ "$(stat -c %u "$file")" = 10001 ] || fail "$file is not the image user's"
grep -q '"status": "ok"' "$file" && grep -q '"verified": true' "$file" \
  || fail "sha256d did not verify in the image: $(head -c 2000 "$file")"
grep -q '"provenance": "user"' "$file" || fail "--watts 100 is not the user's figure in $file"
leftover=$(find "$volume" -mindepth 1 ! -name node-0.json)
[ -z "$leftover" ] || fail "files left on the volume beside the result: $leftover"
echo "container test: passed"
