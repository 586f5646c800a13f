#!/usr/bin/env bash
# Build the images of origin's components (components/*/) fully offline, from Debian's
# packages and this repository only, for linux/amd64 and linux/arm64, and push each component
# to the local registry as ONE multi-arch manifest list, so a board pulls its own architecture:
#   127.0.0.1:5000/flotilla/<component>:<version>   (and :recipe-<hash>)
# Writes (both gitignored):
#   assemblies/origin/.images.json    per component: digests of the list and of each platform,
#                                     sizes, and the library manifest pinned by digest
#   assemblies/origin/.resolved.yaml  assemblies/origin/assembly.yaml, images pinned by digest
# Idempotent: when the registry already holds the images of the current recipe hash (this
# script + components/ + the Debian package versions), it only checks them and rewrites
# .resolved.yaml (about a second).
# Also enables arm64 emulation (binfmt_misc + qemu-user-static) on every run, for the tests.
# Needs root (binfmt_misc), the registry up and the packages that ensure-services.sh installs
# (mosquitto, mosquitto-clients, busybox-static, binutils, qemu-user-static, binfmt-support),
# and node with the repository's node_modules (yaml). Does not use dockerd: it talks to the
# registry's HTTP API. Prints the path of .resolved.yaml as its last line.
#
# How an image is made, per architecture:
#   sysroot   amd64: the host itself; arm64: the same Debian packages fetched with
#             `apt-get download` under a private APT config (the host's dpkg architectures
#             are not touched) and unpacked with `dpkg-deb -x`.
#   layers    base (busybox-static + applet links + passwd/group), mqtt-clients
#             (mosquitto_pub/_sub) and one per component (its binaries + rootfs/); every
#             binary comes with the shared libraries it needs, found through ELF DT_NEEDED
#             (readelf, so it works for a foreign architecture where ldd cannot).
#   push      layers as reproducible tar.gz (sorted, mtime 0, numeric owners, gzip -n) and an
#             image config without a creation time, uploaded with the registry HTTP API; the
#             same recipe therefore gives the same digests. `docker import/load` + `docker
#             manifest` is avoided: this engine records amd64 for any imported image
#             (docs/architecture.md, "Measured facts"), and every import would stamp a new creation time.
set -euo pipefail

SCRIPT_PATH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
ROOT="$(cd "$(dirname "$SCRIPT_PATH")/../.." && pwd)"
REGISTRY=127.0.0.1:5000
REPO_PREFIX=flotilla
STATE_DIR="${FLOTILLA_TEST_STATE:-/tmp/flotilla-test}/origin-build"
COMPONENTS=(mqtt-broker sensor-sim device-status)
ARCHES=(amd64 arm64)
ORIGIN_DIR="$ROOT/assemblies/origin"
IMAGES_JSON="$ORIGIN_DIR/.images.json"
RESOLVED_YAML="$ORIGIN_DIR/.resolved.yaml"
CLIENT_BINARIES=(/usr/bin/mosquitto_pub /usr/bin/mosquitto_sub)
IMAGE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# Fixed so file ownership in the image does not depend on the build host.
MOSQUITTO_UID=1883

MT_LIST=application/vnd.docker.distribution.manifest.list.v2+json
MT_MANIFEST=application/vnd.docker.distribution.manifest.v2+json
MT_CONFIG=application/vnd.docker.container.image.v1+json
MT_LAYER=application/vnd.docker.image.rootfs.diff.tar.gzip

die() { printf 'build-origin-images: %s\n' "$*" >&2; exit 1; }
log() { printf 'build-origin-images: %s\n' "$*" >&2; }
triplet() { case $1 in amd64) echo x86_64-linux-gnu ;; arm64) echo aarch64-linux-gnu ;; esac; }
sha256() { sha256sum "$1" | cut -d' ' -f1; }
size_of() { stat -c %s "$1"; }
# Seconds since $1 (an $EPOCHREALTIME value).
elapsed() { awk -v s="$1" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.1f s", e - s }'; }

# ---------------------------------------------------------------- emulation

# arm64 containers (the tests, and a developer trying an image) run under qemu-user.
# Debian registers qemu-aarch64 with the fix-binary flag, so it works inside containers too.
ensure_binfmt() {
  [[ -e /proc/sys/fs/binfmt_misc/status ]] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  [[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]] || update-binfmts --enable qemu-aarch64
  [[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]] || die "qemu-aarch64 is not registered in binfmt_misc (is qemu-user-static installed?)"
}

# ---------------------------------------------------------------- ELF closure

# The closure runs in one node process (readelf once per level of dependencies): this
# machine forks slowly, and a shell loop over every library took tens of seconds.
#   elf_closure SYSROOT TRIPLET BINARY...        prints the interpreter and every library
#   elf_closure SYSROOT TRIPLET BINARY... --copy DEST [--skip LOWER_DIR]...
#                                                also copies binaries and libraries to DEST
# Paths are inside the sysroot ("" is the host); symlinks are followed within the sysroot,
# and each file lands under the name the loader asks for.
elf_closure() {
  node - "$@" <<'NODE'
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const [sysroot, triplet, ...rest] = process.argv.slice(2);
const at = (flag) => rest.indexOf(flag);
const cut = [at('--copy'), at('--skip')].filter((i) => i >= 0);
const binaries = rest.slice(0, cut.length ? Math.min(...cut) : rest.length);
const dest = at('--copy') >= 0 ? rest[at('--copy') + 1] : undefined;
const lower = rest.flatMap((a, i) => (a === '--skip' ? [rest[i + 1]] : []));
const fail = (msg) => {
  process.stderr.write(`build-origin-images: ${msg}\n`);
  process.exit(1);
};
const exists = (p) => {
  try {
    fs.lstatSync(p);
    return true;
  } catch {
    return false;
  }
};
function resolve(p) {
  for (let n = 0; n < 20; n++) {
    const st = fs.lstatSync(sysroot + p);
    if (!st.isSymbolicLink()) return p;
    const target = fs.readlinkSync(sysroot + p);
    p = target.startsWith('/') ? target : path.posix.join(path.posix.dirname(p), target);
  }
  fail(`symlink loop at ${p} in ${sysroot}`);
}
const dirs = [`/lib/${triplet}`, `/usr/lib/${triplet}`, '/lib', '/usr/lib'];
const findLib = (so) => dirs.map((d) => `${d}/${so}`).find((p) => fs.existsSync(sysroot + p));
const found = new Map(); // path in sysroot -> true
const soSeen = new Set();
let level = binaries.map((b) => resolve(b));
const interps = new Set();
while (level.length > 0) {
  const out = execFileSync('readelf', ['-d', '-l', '-W', ...level.map((p) => sysroot + p)], { encoding: 'utf8', maxBuffer: 64 << 20 });
  // With several files readelf prefixes each with "File: <name>"; with one it does not.
  const chunks = level.length === 1 ? [out] : out.split(/^File: /m).slice(1);
  const next = [];
  chunks.forEach((chunk, i) => {
    for (const m of chunk.matchAll(/\[Requesting program interpreter: (.*)\]/g)) interps.add(m[1]);
    for (const m of chunk.matchAll(/\(NEEDED\)\s+Shared library: \[(.*)\]/g)) {
      const so = m[1];
      if (soSeen.has(so)) continue;
      soSeen.add(so);
      const lib = findLib(so) ?? fail(`no ${so} for ${level[i]} in the ${triplet} sysroot "${sysroot}"`);
      found.set(lib, true);
      next.push(resolve(lib));
    }
  });
  level = next;
}
for (const i of interps) found.set(i, true);
if (!dest) {
  process.stdout.write([...found.keys()].sort().join('\n') + (found.size ? '\n' : ''));
  process.exit(0);
}
for (const p of [...binaries, ...found.keys()]) {
  if (lower.some((d) => exists(d + p))) continue;
  fs.mkdirSync(path.posix.dirname(dest + p), { recursive: true });
  fs.copyFileSync(sysroot + resolve(p), dest + p);
  fs.chmodSync(dest + p, 0o755);
}
NODE
}

# ---------------------------------------------------------------- packages

# Every binary any image needs, as a path on a Debian system.
all_binaries() {
  local c
  printf '%s\n' /bin/busybox "${CLIENT_BINARIES[@]}"
  for c in "${COMPONENTS[@]}"; do (
    # shellcheck source=/dev/null
    source "$ROOT/components/$c/recipe.sh"
    ((${#BINARIES[@]} == 0)) || printf '%s\n' "${BINARIES[@]}"
  ); done
}

# The Debian packages holding those binaries and their libraries on this (amd64) host: the
# same package names hold them for arm64. dpkg knows a file under the path its package ships
# it at, which usrmerge may have moved between /lib and /usr/lib: ask for both.
debian_packages() {
  local paths=() path
  while read -r path; do
    paths+=("$path" "/usr${path#/usr}" "${path#/usr}")
  done < <(all_binaries; elf_closure "" "$(triplet amd64)" $(all_binaries))
  { dpkg-query -S "${paths[@]}" 2>/dev/null || true; } | sed 's/: .*//; s/, /\n/g' | sed 's/:.*//' | sort -u
}

apt_arm64() { APT_CONFIG="$STATE_DIR/apt-arm64/apt.conf" apt-get -qq -o Dpkg::Use-Pty=0 "$@"; }

# A private APT configuration for arm64 with its own lists and cache: the host's dpkg
# architectures and package lists stay as they are.
setup_apt_arm64() {
  local dir="$STATE_DIR/apt-arm64"
  mkdir -p "$dir/etc/sources.list.d" "$dir/etc/preferences.d" "$dir/etc/apt.conf.d" "$dir/lists/partial" "$dir/cache/archives/partial"
  cp /etc/apt/sources.list.d/*.sources "$dir/etc/sources.list.d/" 2>/dev/null || true
  [[ -f /etc/apt/sources.list ]] && cp /etc/apt/sources.list "$dir/etc/sources.list"
  touch "$dir/status"
  cat >"$dir/apt.conf" <<CONF
APT::Architecture "arm64";
APT::Architectures { "arm64"; };
APT::Sandbox::User "root";
Dir::Etc "$dir/etc";
Dir::Etc::Trusted "/etc/apt/trusted.gpg";
Dir::Etc::TrustedParts "/etc/apt/trusted.gpg.d";
Dir::State "$dir";
Dir::State::Lists "$dir/lists";
Dir::State::status "$dir/status";
Dir::Cache "$dir/cache";
CONF
}

# Unpack the arm64 builds of packages $2... into sysroot $1 (downloads kept in the state dir).
make_arm64_sysroot() {
  local sysroot=$1 debs="$STATE_DIR/debs-arm64" pkg deb
  shift
  setup_apt_arm64
  mkdir -p "$debs"
  if ! (cd "$debs" && apt_arm64 download "$@") 2>"$STATE_DIR/apt-arm64.log"; then
    log "arm64 package lists missing or stale: apt-get update"
    apt_arm64 update >>"$STATE_DIR/apt-arm64.log" 2>&1 || die "apt-get update for arm64 failed (see $STATE_DIR/apt-arm64.log)"
    (cd "$debs" && apt_arm64 download "$@") 2>>"$STATE_DIR/apt-arm64.log" || die "apt-get download of arm64 packages failed (see $STATE_DIR/apt-arm64.log)"
  fi
  rm -rf "$sysroot" && mkdir -p "$sysroot"
  for pkg in "$@"; do
    # The newest download of that package (older versions may linger in the cache dir).
    deb=$(ls -1v "$debs/${pkg}_"*_arm64.deb 2>/dev/null | tail -n 1)
    [[ -n $deb ]] || die "no arm64 .deb of $pkg in $debs"
    dpkg-deb -x "$deb" "$sysroot"
  done
}

# ---------------------------------------------------------------- layers

# Base layer: static busybox with a link per applet, users, and the usual directories.
make_base_layer() {
  local sysroot=$1 dir=$2
  mkdir -p "$dir"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,etc,root,tmp,run,var/lib,proc,sys,dev}
  install -m 0755 "$sysroot/bin/busybox" "$dir/bin/busybox"
  # The host's busybox-static is the same package, so its applet list is the image's.
  # One perl process rather than a `ln` per applet (some 400 of them).
  /bin/busybox --list-full | DIR="$dir" perl -nle 'next unless m{/} && $_ ne "bin/busybox"; symlink("/bin/busybox", "$ENV{DIR}/$_") or die "$_: $!"'
  printf 'root:x:0:0:root:/root:/bin/sh\nmosquitto:x:%s:%s:mosquitto:/var/lib/mosquitto:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
    "$MOSQUITTO_UID" "$MOSQUITTO_UID" >"$dir/etc/passwd"
  printf 'root:x:0:\nmosquitto:x:%s:\nnogroup:x:65534:\n' "$MOSQUITTO_UID" >"$dir/etc/group"
}

# A layer with binaries $4... and their libraries from sysroot $1 (triplet $2), leaving out
# files already in the lower layer dirs listed (space-separated) in $3.
make_binaries_layer() {
  local sysroot=$1 triplet=$2 lower=$3 dir=$4 below skip=()
  shift 4
  mkdir -p "$dir"
  (($# > 0)) || return 0
  for below in $lower; do skip+=(--skip "$below"); done
  elf_closure "$sysroot" "$triplet" "$@" --copy "$dir" "${skip[@]}"
}

# Pack dir $1 as a reproducible layer into $2.tar.gz; prints "<digest> <diff_id> <size>".
pack_layer() {
  local dir=$1 out=$2
  chmod -R u+rwX,go+rX,go-w "$dir"
  [[ -d $dir/tmp ]] && chmod 1777 "$dir/tmp"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=posix \
    --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime -C "$dir" -cf "$out.tar" .
  gzip -n -9 <"$out.tar" >"$out.tar.gz"
  printf 'sha256:%s sha256:%s %s %s\n' "$(sha256 "$out.tar.gz")" "$(sha256 "$out.tar")" "$(size_of "$out.tar.gz")" "$(size_of "$out.tar")"
}

# Image config of component $1 for arch $2 with diff_ids $3 (comma-separated), from its
# component.yaml (environment, ports, health check) and recipe (entrypoint, user). No
# creation time and no recipe hash in it: the digest depends on the image's content only.
image_config() {
  (cd "$ROOT" && node - "$@" <<'NODE'
const fs = require('node:fs');
const yaml = require('yaml');
const [component, arch, diffIds, entrypoint, cmd, user, path] = process.argv.slice(2);
const m = yaml.parse(fs.readFileSync(`components/${component}/component.yaml`, 'utf8'));
const svc = m;
const ns = (d) => {
  if (!d) return undefined;
  const units = { ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  let total = 0;
  for (const [, n, u] of d.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) total += Number(n) * units[u];
  return total;
};
// Component values are literal (never Compose-interpolated), as in the library.
const env = [`PATH=${path}`, ...Object.entries(svc.environment ?? {}).map(([k, v]) => `${k}=${v ?? ''}`)];
const exposed = Object.fromEntries(
  (svc.ports ?? []).map((p) => {
    const [spec, proto = 'tcp'] = String(p).split('/');
    return [`${spec.split(':').pop()}/${proto}`, {}];
  }),
);
const h = svc.healthcheck;
const config = {
  Env: env,
  Entrypoint: JSON.parse(entrypoint),
  Cmd: JSON.parse(cmd),
  WorkingDir: '/',
  ...(user ? { User: user } : {}),
  ...(Object.keys(exposed).length ? { ExposedPorts: exposed } : {}),
  ...(h
    ? {
        Healthcheck: {
          Test: typeof h.test === 'string' ? ['CMD-SHELL', h.test] : h.test,
          Interval: ns(h.interval),
          Timeout: ns(h.timeout),
          StartPeriod: ns(h.start_period),
          Retries: h.retries,
        },
      }
    : {}),
  Labels: {
    'org.opencontainers.image.title': m.name,
    'org.opencontainers.image.version': m.version,
    'org.opencontainers.image.description': m.description,
    'io.flotilla.component': `${m.name}@${m.version}`,
  },
};
const out = {
  architecture: arch,
  ...(arch === 'arm64' ? { variant: 'v8' } : {}),
  os: 'linux',
  config,
  rootfs: { type: 'layers', diff_ids: diffIds.split(',') },
  history: diffIds.split(',').map((_, i) => ({ created_by: `build-origin-images.sh layer ${i}`, created: '1970-01-01T00:00:00Z' })),
};
process.stdout.write(JSON.stringify(out));
NODE
  )
}

# ---------------------------------------------------------------- registry

registry_has() { curl -fsI -o /dev/null -H "Accept: $3" "http://$REGISTRY/v2/$1/$2"; }

# Upload blob file $2 with digest $3 to repository $1 (monolithic upload), unless present.
push_blob() {
  local repo=$1 file=$2 digest=$3 location sep
  registry_has "$repo" "blobs/$digest" '*/*' && return
  location=$(curl -fsS -X POST -D - -o /dev/null "http://$REGISTRY/v2/$repo/blobs/uploads/" |
    tr -d '\r' | awk 'tolower($1) == "location:" { print $2 }')
  [[ -n $location ]] || die "registry gave no upload location for $repo"
  [[ $location == http* ]] || location="http://$REGISTRY$location"
  sep='?'
  [[ $location == *\?* ]] && sep='&'
  curl -fsS -X PUT -H 'Content-Type: application/octet-stream' -T "$file" "$location${sep}digest=$digest" -o /dev/null ||
    die "upload of $digest to $repo failed"
}

# Put manifest file $3 (media type $4) into repository $1 under reference $2 (tag or digest).
put_manifest() {
  curl -fsS -X PUT -H "Content-Type: $4" -T "$3" "http://$REGISTRY/v2/$1/manifests/$2" -o /dev/null ||
    die "registry refused the manifest $2 of $1"
}

# ---------------------------------------------------------------- main steps

recipe_hash() {
  {
    sha256sum "$SCRIPT_PATH"
    (cd "$ROOT" && find components -type f -print0 | sort -z | xargs -0 sha256sum)
    # Package versions: a Debian security update changes the images.
    dpkg-query -W busybox-static mosquitto mosquitto-clients libmosquitto1 libc6 libssl3
  } | sha256sum | cut -c1-16
}

# The previous build is still valid: same recipe, and the registry still serves every list.
up_to_date() {
  local hash=$1 c digest
  [[ -f $IMAGES_JSON && -f $RESOLVED_YAML ]] || return 1
  grep -qF "\"recipe\":\"$hash\"" "$IMAGES_JSON" || return 1
  for c in "${COMPONENTS[@]}"; do
    digest=$(grep -o "\"$c\":{\"version\":\"[^\"]*\",\"image\":\"[^\"]*\"" "$IMAGES_JSON" | sed 's/.*@//; s/"$//')
    [[ -n $digest ]] && registry_has "$REPO_PREFIX/$c" "manifests/$digest" "$MT_LIST" || return 1
  done
}

component_version() { sed -n 's/^version: *//p' "$ROOT/components/$1/component.yaml" | tr -d "'\"" | head -n 1; }

# Build and push component $1 for every arch; appends its .images.json entry to $2.
build_component() {
  local c=$1 entries=$2 work="$WORK_DIR/$c" arch repo="$REPO_PREFIX/$1" version start=$EPOCHREALTIME
  local platforms=() sizes=()
  version=$(component_version "$c")
  [[ -n $version ]] || die "components/$c/component.yaml has no version"
  local LAYERS BINARIES ENTRYPOINT CMD USER_SPEC
  # shellcheck source=/dev/null
  source "$ROOT/components/$c/recipe.sh"
  mkdir -p "$work"
  for arch in "${ARCHES[@]}"; do
    local sysroot layer_dirs="" layer digests=() diff_ids=() sizes_gz=() line dir
    sysroot=$([[ $arch == amd64 ]] && echo "" || echo "$WORK_DIR/sysroot-$arch")
    for layer in "${LAYERS[@]}"; do layer_dirs+=" $WORK_DIR/layers-$arch/$layer"; done
    dir="$work/$arch-rootfs"
    mkdir -p "$dir"
    make_binaries_layer "$sysroot" "$(triplet "$arch")" "$layer_dirs" "$dir" "${BINARIES[@]}"
    cp -a "$ROOT/components/$c/rootfs/." "$dir/"
    for layer in "${LAYERS[@]}"; do
      read -r -a line <"$WORK_DIR/layers-$arch/$layer.meta"
      digests+=("${line[0]}") diff_ids+=("${line[1]}") sizes_gz+=("${line[2]}")
      push_blob "$repo" "$WORK_DIR/layers-$arch/$layer.tar.gz" "${line[0]}"
    done
    pack_layer "$dir" "$work/$arch-layer" >"$work/$arch-layer.meta"
    read -r -a line <"$work/$arch-layer.meta"
    digests+=("${line[0]}") diff_ids+=("${line[1]}") sizes_gz+=("${line[2]}")
    push_blob "$repo" "$work/$arch-layer.tar.gz" "${line[0]}"

    image_config "$c" "$arch" "$(IFS=,; echo "${diff_ids[*]}")" "$ENTRYPOINT" "$CMD" "$USER_SPEC" "$IMAGE_PATH" >"$work/$arch-config.json"
    local config_digest="sha256:$(sha256 "$work/$arch-config.json")" i layers_json="" total=0
    push_blob "$repo" "$work/$arch-config.json" "$config_digest"
    for i in "${!digests[@]}"; do
      layers_json+="${layers_json:+,}{\"mediaType\":\"$MT_LAYER\",\"size\":${sizes_gz[$i]},\"digest\":\"${digests[$i]}\"}"
      total=$((total + sizes_gz[i]))
    done
    printf '{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"%s","size":%s,"digest":"%s"},"layers":[%s]}' \
      "$MT_MANIFEST" "$MT_CONFIG" "$(size_of "$work/$arch-config.json")" "$config_digest" "$layers_json" >"$work/$arch-manifest.json"
    local manifest_digest="sha256:$(sha256 "$work/$arch-manifest.json")"
    put_manifest "$repo" "$manifest_digest" "$work/$arch-manifest.json" "$MT_MANIFEST"
    local variant=""
    [[ $arch == arm64 ]] && variant=',"variant":"v8"'
    platforms+=("{\"mediaType\":\"$MT_MANIFEST\",\"size\":$(size_of "$work/$arch-manifest.json"),\"digest\":\"$manifest_digest\",\"platform\":{\"architecture\":\"$arch\",\"os\":\"linux\"$variant}}")
    sizes+=("\"linux/$arch\":{\"image\":\"$REGISTRY/$repo@$manifest_digest\",\"compressedBytes\":$total}")
  done
  printf '{"schemaVersion":2,"mediaType":"%s","manifests":[%s]}' "$MT_LIST" "$(IFS=,; echo "${platforms[*]}")" >"$work/list.json"
  local list_digest="sha256:$(sha256 "$work/list.json")"
  put_manifest "$repo" "$list_digest" "$work/list.json" "$MT_LIST"
  put_manifest "$repo" "$version" "$work/list.json" "$MT_LIST"
  put_manifest "$repo" "recipe-$RECIPE" "$work/list.json" "$MT_LIST"
  printf '{"name":"%s","version":"%s","image":"%s","tag":"%s","platforms":{%s}}\n' \
    "$c" "$version" "$REGISTRY/$repo@$list_digest" "$REGISTRY/$repo:$version" "$(IFS=,; echo "${sizes[*]}")" >>"$entries"
  log "$c $version: $REGISTRY/$repo@$list_digest ($(elapsed "$start"))"
}

# Writes .images.json (per component: the list digest, each platform's manifest digest and
# compressed size, and the library manifest pinned by digest, ready for POST
# /api/v1/components) and .resolved.yaml (assembly.yaml with every library reference
# replaced by the merged service, following the rules of shared/src/assembly/
# resolve-components.ts; test/integration/origin checks both give the same assembly).
write_outputs() {
  (cd "$ROOT" && node - "$1" "$RECIPE" "$REGISTRY" "$IMAGES_JSON" "$RESOLVED_YAML" <<'NODE'
const fs = require('node:fs');
const yaml = require('yaml');
const [entriesFile, recipe, registry, imagesJson, resolvedYaml] = process.argv.slice(2);
// Without new entries ("-"), only .resolved.yaml is rewritten from the existing .images.json
// (assembly.yaml is not part of the images' recipe).
const components = entriesFile === '-' ? JSON.parse(fs.readFileSync(imagesJson, 'utf8')).components : {};
for (const line of entriesFile === '-' ? [] : fs.readFileSync(entriesFile, 'utf8').split('\n').filter(Boolean)) {
  const { name, version, image, tag, platforms } = JSON.parse(line);
  const manifest = yaml.parse(fs.readFileSync(`components/${name}/component.yaml`, 'utf8'));
  components[name] = { version, image, tag, platforms, manifest: { ...manifest, image } };
}
const writeAtomic = (file, text) => {
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
};
if (entriesFile !== '-') writeAtomic(imagesJson, JSON.stringify({ recipe, registry, components }) + '\n');

const assembly = yaml.parse(fs.readFileSync('assemblies/origin/assembly.yaml', 'utf8'));
const isMap = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
const asMap = (v) => (Array.isArray(v) ? Object.fromEntries(v.map((e) => [e.split('=')[0], e.split('=').slice(1).join('=')])) : { ...v });
assembly.volumes ??= {};
for (const [svc, service] of Object.entries(assembly.services)) {
  const ref = service['x-flotilla']?.component;
  if (!ref) continue;
  const [name, version] = ref.split('@');
  const c = components[name]?.manifest;
  if (!c || c.version !== version) throw new Error(`services.${svc}: no component ${ref} was built`);
  const merged = {};
  for (const [k, v] of Object.entries(c)) if (!['name', 'version', 'description', 'config', 'x-flotilla'].includes(k)) merged[k] = v;
  for (const [k, v] of Object.entries(service)) {
    if (k === 'x-flotilla') continue;
    merged[k] = (k === 'environment' || k === 'labels') && k in merged ? { ...asMap(merged[k]), ...asMap(v) } : v;
  }
  const { component, ...ownFlotilla } = service['x-flotilla'];
  const flotilla = { ...(c['x-flotilla'] ?? {}), ...ownFlotilla };
  if (Object.keys(flotilla).length > 0) merged['x-flotilla'] = flotilla;
  const env = asMap(merged.environment ?? {});
  for (const [key, spec] of Object.entries(c.config ?? {})) if (env[key] === undefined && spec.default !== undefined) env[key] = String(spec.default);
  if (Object.keys(env).length > 0) merged.environment = env;
  if (merged.volumes === c.volumes) {
    for (const v of c.volumes ?? []) {
      const source = v.split(':')[0];
      if (!source.startsWith('/') && !source.startsWith('.') && !(source in assembly.volumes)) assembly.volumes[source] = null;
    }
  }
  assembly.services[svc] = merged;
}
// Component values are literal; in a Compose file a literal `$` is written `$$`.
const escape = (v) =>
  typeof v === 'string' ? v.replaceAll('$', '$$$$') : Array.isArray(v) ? v.map(escape) : isMap(v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, escape(x)])) : v;
const header = '# Generated by test/setup/build-origin-images.sh from assembly.yaml and components/*/component.yaml:\n# library references resolved, images pinned by digest. Do not edit.\n';
writeAtomic(resolvedYaml, header + yaml.stringify(escape(assembly), { lineWidth: 0 }));
NODE
  )
}

main() {
  [[ $(id -u) -eq 0 ]] || die "must run as root (binfmt_misc)"
  local start=$EPOCHREALTIME arch c packages
  ensure_binfmt
  curl -fs -o /dev/null "http://$REGISTRY/v2/" || die "no registry on $REGISTRY (run test/setup/ensure-services.sh)"
  RECIPE=$(recipe_hash)
  if up_to_date "$RECIPE"; then
    write_outputs -
    log "images of recipe $RECIPE present; .resolved.yaml rewritten"
    echo "$RESOLVED_YAML"
    return
  fi
  mkdir -p "$STATE_DIR"
  WORK_DIR=$(mktemp -d "$STATE_DIR/work.XXXXXX")
  trap 'rm -rf "$WORK_DIR"' EXIT

  mapfile -t packages < <(debian_packages)
  log "Debian packages: ${packages[*]} ($(elapsed "$start"))"
  make_arm64_sysroot "$WORK_DIR/sysroot-arm64" "${packages[@]}"
  log "arm64 sysroot unpacked ($(elapsed "$start"))"
  for arch in "${ARCHES[@]}"; do
    local sysroot="" lt="$WORK_DIR/layers-$arch"
    [[ $arch == amd64 ]] || sysroot="$WORK_DIR/sysroot-$arch"
    make_base_layer "$sysroot" "$lt/base"
    pack_layer "$lt/base" "$lt/base" >"$lt/base.meta"
    make_binaries_layer "$sysroot" "$(triplet "$arch")" "$lt/base" "$lt/mqtt-clients" "${CLIENT_BINARIES[@]}"
    pack_layer "$lt/mqtt-clients" "$lt/mqtt-clients" >"$lt/mqtt-clients.meta"
    log "$arch shared layers packed ($(elapsed "$start"))"
  done

  local entries="$WORK_DIR/entries"
  : >"$entries"
  for c in "${COMPONENTS[@]}"; do build_component "$c" "$entries"; done
  write_outputs "$entries"
  log "built recipe $RECIPE in $(elapsed "$start")"
  echo "$RESOLVED_YAML"
}

main "$@"
