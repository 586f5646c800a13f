#!/usr/bin/env bash
# Build the test images fully offline (nothing is pulled from the internet)
# and push them to the local registry on 127.0.0.1:5000:
#   127.0.0.1:5000/flotilla/busybox:test  - Debian's static busybox, one
#   symlink per applet (sh, httpd, nc, sleep, env, wget, ...).
# Writes the digest-pinned references to test/setup/.images.json (gitignored)
# and prints the busybox reference as the last line.
# Called by ensure-services.sh; expects dockerd and the registry to be up.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REGISTRY=127.0.0.1:5000
BUSYBOX_IMAGE="$REGISTRY/flotilla/busybox"
BUSYBOX_TAG=test
BUSYBOX_BIN=/bin/busybox
REQUIRED_APPLETS=(sh httpd nc sleep env wget)

die() { printf 'build-test-images: %s\n' "$*" >&2; exit 1; }

# The binary is copied into an image without libc, so it must be static.
check_busybox() {
  [[ $(dpkg-query -W -f='${Status}' busybox-static 2>/dev/null) == 'install ok installed' ]] ||
    die "package busybox-static is not installed (the dynamic busybox would not run in the image)"
  local applets applet
  applets=$("$BUSYBOX_BIN" --list)
  for applet in "${REQUIRED_APPLETS[@]}"; do
    grep -qx "$applet" <<<"$applets" || die "busybox lacks the $applet applet"
  done
}

# Lay out a minimal root filesystem in $1: busybox plus a symlink at each
# applet's usual path (--list-full gives e.g. bin/sh, usr/bin/wget), and the
# few files tools expect (passwd/group for httpd -u and `docker run --user`).
make_rootfs() {
  local root=$1 path
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,var/www,proc,sys,dev}
  chmod 1777 "$root/tmp"
  install -m 0755 "$BUSYBOX_BIN" "$root/bin/busybox"
  while read -r path; do
    [[ $path == */* && $path != bin/busybox ]] || continue # skips "linuxrc"
    ln -s /bin/busybox "$root/$path"
  done < <("$BUSYBOX_BIN" --list-full)
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
}

# Import the rootfs as an image. Sorted entries, fixed mtimes and numeric
# owners keep the layer content stable between builds (the image's creation
# time still differs, so the digest changes on every rebuild).
import_rootfs() {
  local root=$1 ref=$2
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$root" -cf - . |
    docker import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["/bin/sh"]' \
      - "$ref" >/dev/null
}

# Push and return the registry's digest reference (<repo>@sha256:...).
push_and_pin() {
  local ref=$1 repo=${1%:*} digest_ref
  docker push "$ref" >/dev/null
  digest_ref=$(docker inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$ref" | grep -m 1 -F "$repo@sha256:") ||
    die "no digest for $ref after push"
  printf '%s\n' "$digest_ref"
}

main() {
  check_busybox
  local busybox_ref
  # Global, not local: the EXIT trap runs after main has returned.
  WORK_DIR=$(mktemp -d)
  trap 'rm -rf "$WORK_DIR"' EXIT

  make_rootfs "$WORK_DIR/busybox"
  import_rootfs "$WORK_DIR/busybox" "$BUSYBOX_IMAGE:$BUSYBOX_TAG"
  busybox_ref=$(push_and_pin "$BUSYBOX_IMAGE:$BUSYBOX_TAG")

  # Write atomically so a concurrent reader never sees half a file.
  printf '{"busybox":"%s"}\n' "$busybox_ref" >"$SCRIPT_DIR/.images.json.tmp"
  mv "$SCRIPT_DIR/.images.json.tmp" "$SCRIPT_DIR/.images.json"
  printf '%s\n' "$busybox_ref"
}

main "$@"
