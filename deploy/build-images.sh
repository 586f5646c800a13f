#!/usr/bin/env bash
# Build Flotilla's deployment images fully offline (no registry pull), from Debian 12 packages
# and this repository, and tag them by content so an unchanged recipe is never rebuilt:
#   flotilla-deploy/base:<hash>           Debian 12 minbase (debootstrap) + PostgreSQL 15,
#                                         RabbitMQ 3.10 (MQTT + HTTP auth plugins), HAProxy 2.6,
#                                         the registry (docker-registry), curl, and this host's
#                                         Node.js binary (the nodejs package the repository runs on)
#   flotilla-deploy/<role>:<hash>         one per deploy/images/<role>.Dockerfile, FROM the base
#   flotilla-deploy/app-deps:<hash>       the base + production node_modules (pruned offline),
#                                         tagged by package-lock.json
#   flotilla-deploy/control-plane|agent   FROM app-deps, adding only the compiled workspaces: a
#                                         source change rebuilds a few MB, in seconds
# Prints shell assignments (FLOTILLA_IMAGE_<ROLE>=flotilla-deploy/<role>:<hash>) on stdout,
# and writes them to deploy/.images.env (gitignored) for `docker-compose --env-file`.
# With --dependencies, builds only what does not depend on the sources (the base, the engine
# roles, app-deps) and prints nothing: test/setup/ensure-services.sh starts it in the background
# (seconds when they exist), so the test run's compose e2e finds the slow part done.
# Needs root (debootstrap, chroot), dockerd, and the packages ensure-services.sh installs.
# The first run fetches the Debian packages (debootstrap and apt-get in the chroot, the
# network use of this script, as ensure-services.sh itself does); later runs take seconds.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${FLOTILLA_TEST_STATE:-/tmp/flotilla-test}/deploy-build"
ENV_FILE="$ROOT/deploy/.images.env"
BASE_PACKAGES=(ca-certificates curl postgresql-15 rabbitmq-server haproxy docker-registry)
# Roles built from deploy/images alone (engines and their configuration) and roles that add
# the compiled repository; only the latter are rebuilt when the application changes.
ENGINE_ROLES=(postgres rabbitmq haproxy registry)
APP_ROLES=(control-plane agent)

log() { printf 'build-images: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
hash_of() { sha256sum | cut -c1-16; }
have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# ---------------------------------------------------------------- base

base_hash() {
  {
    sed -n '/^# ---- base recipe/,/^# ---- end of base recipe/p' "${BASH_SOURCE[0]}"
    printf '%s\n' "${BASE_PACKAGES[@]}"
    dpkg-query -W -f='${Version}\n' nodejs
    sha256sum /usr/bin/node
  } | hash_of
}

# ---- base recipe
build_base() {
  local tag=$1 rootfs="$STATE/rootfs.partial"
  rm -rf "$rootfs" && mkdir -p "$rootfs"
  log "debootstrap Debian 12 minbase into $rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" >"$STATE/debootstrap.log" 2>&1 ||
    { tail -n 20 "$STATE/debootstrap.log" >&2; die "debootstrap failed"; }
  # Nothing may start during the installs: there is no init in a build chroot.
  printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d" && chmod 755 "$rootfs/usr/sbin/policy-rc.d"
  mount -t proc proc "$rootfs/proc"
  # A RETURN trap outlives the function: it removes itself, or it would fire again (rootfs unset).
  trap 'umount "$rootfs/proc" 2>/dev/null || true; trap - RETURN' RETURN
  chroot "$rootfs" env DEBIAN_FRONTEND=noninteractive PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    apt-get -qq -o Dpkg::Use-Pty=0 install -y --no-install-recommends "${BASE_PACKAGES[@]}" >"$STATE/apt.log" 2>&1 ||
    { tail -n 20 "$STATE/apt.log" >&2; die "apt-get install in the chroot failed"; }
  chroot "$rootfs" env PATH=/usr/sbin:/usr/bin:/sbin:/bin rabbitmq-plugins --offline enable \
    rabbitmq_mqtt rabbitmq_auth_backend_http rabbitmq_management >>"$STATE/apt.log" 2>&1
  umount "$rootfs/proc"
  # The Node.js the repository is built and tested with (Debian's own nodejs 18 cannot load
  # the ESM-only dependencies from CommonJS).
  install -m 755 /usr/bin/node "$rootfs/usr/local/bin/node"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc \
    "$rootfs"/usr/share/man "$rootfs"/usr/sbin/policy-rc.d
  log "importing $tag"
  tar --numeric-owner -C "$rootfs" -c . |
    docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV LANG=C.UTF-8' --change 'LABEL io.flotilla.managed=true io.flotilla.deploy=true' - "$tag" >/dev/null
  rm -rf "$rootfs"
}
# ---- end of base recipe

# ---------------------------------------------------------------- application context

# The production node_modules (pruned offline from the repository's own installed tree) with the
# package manifests: the context of the deps image, staged only when package-lock.json changes.
# The application images are built FROM that image, so a source change sends and stores only the
# compiled workspaces (a few MB), never the 160 MB of dependencies again.
stage_deps() {
  local ctx="$STATE/app-deps" workspaces=$1 lock_hash=$2
  [[ -f $ctx/.lock-$lock_hash ]] && return
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp "$ROOT/package.json" "$ROOT/package-lock.json" "$ctx/"
  for w in $workspaces; do mkdir -p "$ctx/$w" && cp "$ROOT/$w/package.json" "$ctx/$w/"; done
  # Nothing is fetched: a fresh `npm ci --omit=dev` would still ask the registry for optional packages it does not install.
  cp -a "$ROOT/node_modules" "$ctx/node_modules"
  (cd "$ctx" && npm prune --omit=dev --offline --ignore-scripts --no-audit --no-fund >"$STATE/npm.log" 2>&1) ||
    { tail -n 20 "$STATE/npm.log" >&2; die "npm prune --omit=dev --offline failed"; }
  touch "$ctx/.lock-$lock_hash"
}

# Compiled workspaces, the dashboard and the components: the application images' own layer.
# Runs only when an application image of the current sources is missing.
stage_app() {
  local ctx="$STATE/app-context" workspaces=$1
  # Compiler messages go to stderr: stdout carries only the image assignments.
  (cd "$ROOT" && npx tsc -b $workspaces >&2) || die "tsc -b $workspaces failed"
  (cd "$ROOT" && npm run -s build:dashboard >/dev/null) || die "the dashboard build failed"
  rm -rf "$ctx" && mkdir -p "$ctx"
  for w in $workspaces; do
    [[ -d $ROOT/$w/dist ]] && mkdir -p "$ctx/$w" && cp -a "$ROOT/$w/dist" "$ctx/$w/dist"
  done
  [[ -d $ROOT/control-plane/dashboard/dist ]] && mkdir -p "$ctx/control-plane/dashboard" &&
    cp -a "$ROOT/control-plane/dashboard/dist" "$ctx/control-plane/dashboard/dist"
  cp -a "$ROOT/components" "$ROOT/assemblies" "$ctx/"
}

# Every file the application images are made of, as the working tree holds them.
source_hash() {
  (cd "$ROOT" && git ls-files -co --exclude-standard -z -- package.json package-lock.json tsconfig.base.json \
    $(node -p "require('./package.json').workspaces.join(' ')") components assemblies |
    sort -z | xargs -0 sha256sum) | hash_of
}

# Earlier builds of a role (another source hash) are removed, unless a container still uses them or
# they are less than two hours old: another checkout on the same engine may be about to start them.
# (`docker image ls` has no `until` filter: the creation time is compared here.)
drop_old_tags() {
  local repo=$1 keep=$2 old created cutoff=$(($(date +%s) - 7200))
  for old in $(docker image ls "$repo" --format '{{.Repository}}:{{.Tag}}'); do
    [[ $old == "$keep" ]] && continue
    created=$(date -d "$(docker image inspect -f '{{.Created}}' "$old")" +%s) || continue
    if ((created < cutoff)); then docker rmi "$old" >/dev/null 2>&1 || true; fi
  done
}

build_role() {
  local role=$1 tag=$2 base=$3 context=$4
  have_image "$tag" && return
  log "building $tag"
  DOCKER_BUILDKIT=0 docker build -q --build-arg "BASE=$base" --label io.flotilla.managed=true --label io.flotilla.deploy=true -f "$ROOT/deploy/images/$role.Dockerfile" -t "$tag" "$context" >"$STATE/build-$role.log" 2>&1 ||
    die "docker build of $role failed"
}

# ---------------------------------------------------------------- main

main() {
  local only_dependencies=''
  case ${1:-} in
    '') ;;
    --dependencies) only_dependencies=1 ;;
    *) die "unknown argument $1 (usage: build-images.sh [--dependencies])" ;;
  esac
  [[ $(id -u) -eq 0 ]] || die "must run as root (debootstrap, chroot)"
  mkdir -p "$STATE"
  exec 9>"$STATE/.lock" && flock -w 900 9 || die "another build-images.sh run holds $STATE/.lock"
  local started=$SECONDS base deps workspaces lock_hash app_hash role tag line staged='' out=()
  base="flotilla-deploy/base:$(base_hash)"
  have_image "$base" || build_base "$base"
  for role in "${ENGINE_ROLES[@]}"; do
    tag="flotilla-deploy/$role:$( (echo "$base"; cd "$ROOT/deploy/images" && find . -type f -print0 | sort -z | xargs -0 sha256sum; echo "$role") | hash_of)"
    build_role "$role" "$tag" "$base" "$ROOT/deploy/images"
    out+=("$role=$tag")
  done
  # The dependencies, tagged by the lock file: rebuilt only when it changes.
  workspaces=$(node -p "require('$ROOT/package.json').workspaces.join(' ')")
  lock_hash=$(cat "$ROOT/package.json" "$ROOT/package-lock.json" | hash_of)
  deps="flotilla-deploy/app-deps:$( (echo "$base $lock_hash"; cat "$ROOT/deploy/images/app-deps.Dockerfile") | hash_of)"
  if ! have_image "$deps"; then
    stage_deps "$workspaces" "$lock_hash"
    build_role app-deps "$deps" "$base" "$STATE/app-deps"
  fi
  if [[ -n $only_dependencies ]]; then
    log "dependency images ready in $((SECONDS - started)) s"
    return
  fi
  # Tagged by the sources (not the compiled output), so an unchanged tree skips the compile too.
  app_hash=$(source_hash)
  for role in "${APP_ROLES[@]}"; do
    tag="flotilla-deploy/$role:$( (echo "$deps $app_hash"; cat "$ROOT/deploy/images/$role.Dockerfile") | hash_of)"
    if ! have_image "$tag"; then
      [[ -n ${staged:-} ]] || { stage_app "$workspaces" >/dev/null; staged=1; }
      build_role "$role" "$tag" "$deps" "$STATE/app-context"
    fi
    out+=("$role=$tag")
  done
  for line in "${out[@]}"; do drop_old_tags "flotilla-deploy/${line%%=*}" "${line#*=}"; done
  drop_old_tags flotilla-deploy/app-deps "$deps" # after the images built on them
  drop_old_tags flotilla-deploy/base "$base"
  : >"$ENV_FILE"
  for line in "${out[@]}"; do
    role=${line%%=*}
    role=${role//-/_}
    printf 'FLOTILLA_IMAGE_%s=%s\n' "${role^^}" "${line#*=}" | tee -a "$ENV_FILE"
  done
  log "images ready in $((SECONDS - started)) s ($ENV_FILE)"
}

main "$@"
