#!/usr/bin/env bash
# Bring up the real services the test suite talks to, on 127.0.0.1 only:
#   Docker Engine (unix socket), PostgreSQL 15 on :55432, a registry on :5000,
#   plus the offline test images in that registry.
# Idempotent: anything already healthy is only checked, not restarted.
# Needs root (apt-get, dockerd) and no systemd; safe with CI=true and no stdin.
# Override the state dir with FLOTILLA_TEST_STATE (default /tmp/flotilla-test).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STATE_DIR="${FLOTILLA_TEST_STATE:-/tmp/flotilla-test}"
PG_PORT=55432
PG_DB=flotilla_test
PG_BIN=/usr/lib/postgresql/15/bin
PG_DATA="$STATE_DIR/postgres"
REGISTRY_ADDR=127.0.0.1:5000
IMAGES_JSON="$SCRIPT_DIR/.images.json"
BUSYBOX_REPO=flotilla/busybox
BUSYBOX_TAG=test

log() { printf '%-10s %s\n' "$1" "$2"; }
die() { printf 'ensure-services: %s\n' "$*" >&2; exit 1; }

# Seconds since $1 (an $EPOCHREALTIME value), with 2 decimals.
elapsed() { awk -v s="$1" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.2fs", e - s }'; }

# Poll "$@" once per 0.25 s until it succeeds or $timeout seconds pass.
wait_for() {
  local timeout=$1; shift
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.25
  done
}

# Print the last lines of a log file to stderr, to make a failed start explainable.
show_log() { [[ -f $1 ]] && { echo "--- last lines of $1:" >&2; tail -n 20 "$1" >&2; }; return 0; }

# Start a daemon fully detached: own session, no inherited stdio. Otherwise a
# caller such as `npm test | tee` would wait forever for the pipe to close.
spawn_detached() {
  local logfile=$1; shift
  setsid "$@" </dev/null >>"$logfile" 2>&1 &
  echo $!
}

# ---------------------------------------------------------------- packages

pkg_installed() { [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == 'install ok installed' ]]; }

# Wraps apt-get so that a concurrent apt/dpkg run (e.g. one started in the
# background) makes us wait instead of fail. DPkg::Lock::Timeout covers the
# dpkg lock; `apt-get update` takes the lists lock, which older apt does not
# wait for, hence the retry loop.
apt_get() {
  local _
  for _ in $(seq 1 60); do
    if DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout=600 \
        -o Dpkg::Use-Pty=0 "$@" </dev/null >>"$STATE_DIR/apt.log" 2>&1; then
      return 0
    fi
    grep -q 'Could not get lock' <(tail -n 5 "$STATE_DIR/apt.log") || break
    sleep 10
  done
  show_log "$STATE_DIR/apt.log"
  die "apt-get $* failed (see $STATE_DIR/apt.log)"
}

ensure_packages() {
  local start=$EPOCHREALTIME missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v docker-registry >/dev/null || missing+=(docker-registry)
  # Only the static build works inside an otherwise empty image.
  pkg_installed busybox-static || missing+=(busybox-static)
  [[ -x $PG_BIN/initdb && -x $PG_BIN/pg_ctl ]] || missing+=(postgresql)
  command -v curl >/dev/null || missing+=(curl)
  # htpasswd -B: the registry with a login that private-registry tests start (test/support/auth-registry.ts).
  command -v htpasswd >/dev/null || missing+=(apache2-utils)
  # Only to validate docker-compose.yml (test/integration/compose-file.test.ts).
  command -v docker-compose >/dev/null || missing+=(docker-compose)
  # origin's images (build-origin-images.sh): Mosquitto's binaries and libraries to copy,
  # readelf for their dependencies, qemu-user to run the arm64 variants.
  pkg_installed mosquitto || missing+=(mosquitto)
  pkg_installed mosquitto-clients || missing+=(mosquitto-clients)
  pkg_installed chromium || missing+=(chromium)
  command -v readelf >/dev/null || missing+=(binutils)
  pkg_installed qemu-user-static || missing+=(qemu-user-static)
  pkg_installed binfmt-support || missing+=(binfmt-support)
  # Image build, configure, flash and OS-slot tests (cli/src/images, agent/src/os-update).
  command -v sfdisk >/dev/null || missing+=(fdisk)
  command -v mkfs.vfat >/dev/null || missing+=(dosfstools)
  command -v mcopy >/dev/null || missing+=(mtools)
  command -v mkfs.ext4 >/dev/null || missing+=(e2fsprogs)
  command -v mkenvimage >/dev/null || missing+=(u-boot-tools)
  command -v fw_printenv >/dev/null || missing+=(libubootenv-tool)
  command -v grub-editenv >/dev/null || missing+=(grub-common)
  command -v qemu-system-aarch64 >/dev/null || missing+=(qemu-system-arm)
  # The Raspberry Pi tryboot harness passes the firmware's /chosen/bootloader flags in a device tree (test/e2e/qemu/rpi-firmware.ts).
  command -v dtc >/dev/null || missing+=(device-tree-compiler)
  # The agent package's test installs it into a Debian 12 chroot it makes once (test/e2e/agent-deb.e2e.test.ts).
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  # The TLS tests (test/integration/tls): openssl s_client verifies the listeners, ss lists bound
  # addresses. The control plane itself needs neither (its X.509 is @peculiar/x509 on WebCrypto).
  command -v openssl >/dev/null || missing+=(openssl)
  command -v ss >/dev/null || missing+=(iproute2)
  # Binary layer deltas: the control plane makes them and the agent applies them with zstd
  # --patch-from (control-plane/src/deltas, agent/src/delta); xdelta3 only for the delta bench's comparison.
  command -v zstd >/dev/null || missing+=(zstd)
  command -v xdelta3 >/dev/null || missing+=(xdelta3)
  # The external broker mode's tests start RabbitMQ nodes as their own processes (test/support/rabbitmq.ts);
  # the broker candidates benchmark (control-plane/bench/brokers.bench.ts) runs these engines as
  # local processes; HAProxy and RabbitMQ also go into the deploy images (deploy/build-images.sh).
  pkg_installed rabbitmq-server || missing+=(rabbitmq-server)
  command -v nats-server >/dev/null || missing+=(nats-server)
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v haproxy >/dev/null || missing+=(haproxy)

  if ((${#missing[@]} == 0)); then
    log packages "all present ($(elapsed "$start"))"
    return
  fi
  apt_get update
  apt_get install -y --no-install-recommends "${missing[@]}"
  log packages "installed ${missing[*]} ($(elapsed "$start"))"
  if [[ " ${missing[*]} " == *" rabbitmq-server "* ]]; then stop_system_rabbitmq; fi
}

# The package starts a system node (and epmd) where an init script can; the tests want none of it.
stop_system_rabbitmq() {
  [[ -x /etc/init.d/rabbitmq-server ]] || return 0
  /etc/init.d/rabbitmq-server stop >>"$STATE_DIR/apt.log" 2>&1 || true
  update-rc.d rabbitmq-server disable >>"$STATE_DIR/apt.log" 2>&1 || true
}

# ---------------------------------------------------------------- docker

ensure_docker() {
  local start=$EPOCHREALTIME
  if docker info >/dev/null 2>&1; then
    log docker "already running ($(elapsed "$start"))"
    return
  fi
  # No systemd here: run dockerd ourselves. It listens on the unix socket only
  # and starts its own containerd.
  spawn_detached "$STATE_DIR/dockerd.log" dockerd >/dev/null
  wait_for 60 docker info || { show_log "$STATE_DIR/dockerd.log"; die "dockerd did not come up within 60 s"; }
  log docker "started dockerd ($(elapsed "$start"), log $STATE_DIR/dockerd.log)"
}

# Networks that test assemblies left behind (a killed run, a package test that leaves its
# assembly as `apt remove` documents): the engine's default address pools hold about 30, and
# once they are used up every new assembly fails to create its network. Only unused ones go.
prune_test_networks() {
  local pruned
  pruned=$(docker network prune -f --filter label=io.flotilla.managed=true 2>/dev/null | grep -c '^flotilla_' || true)
  log docker "pruned $pruned unused test network(s)"
}

# ---------------------------------------------------------------- postgresql

pg_ready() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; }
as_postgres() { runuser -u postgres -- "$@"; }
psql_q() { "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -tA -v ON_ERROR_STOP=1 "$@"; }

# After a container restart the pid in postmaster.pid may belong to some other
# process, and pg_ctl would then refuse to start. Drop it if it is not a postgres.
remove_stale_pidfile() {
  local pidfile="$PG_DATA/postmaster.pid" pid
  [[ -f $pidfile ]] || return 0
  pid=$(head -n 1 "$pidfile")
  if [[ $(cat "/proc/$pid/comm" 2>/dev/null) != postgres ]]; then
    rm -f "$pidfile"
  fi
}

start_postgres() {
  mkdir -p "$PG_DATA"
  chown postgres:postgres "$PG_DATA"
  chmod 700 "$PG_DATA"
  as_postgres test -w "$PG_DATA" || die "user postgres cannot write $PG_DATA (is a parent directory private?)"

  if [[ ! -f $PG_DATA/PG_VERSION ]]; then
    as_postgres "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
      >>"$STATE_DIR/initdb.log" 2>&1 || { show_log "$STATE_DIR/initdb.log"; die "initdb failed"; }
  fi
  remove_stale_pidfile
  touch "$STATE_DIR/postgres.log" && chown postgres:postgres "$STATE_DIR/postgres.log"
  # Throwaway data: durability settings off make the suite faster.
  as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$STATE_DIR/postgres.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k /tmp -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start </dev/null >/dev/null 2>&1 || { show_log "$STATE_DIR/postgres.log"; die "PostgreSQL did not start"; }
}

ensure_postgres() {
  local start=$EPOCHREALTIME what status=0
  pg_ready || status=$?
  # pg_isready exits 1 while a server is still starting up (or shutting
  # down): give it a moment before concluding nothing is there.
  if ((status == 1)); then wait_for 30 pg_ready && status=0; fi
  if ((status == 0)); then
    what="already running"
  else
    start_postgres
    wait_for 30 pg_ready || die "PostgreSQL on 127.0.0.1:$PG_PORT is not accepting connections"
    what="started"
  fi
  if [[ $(psql_q -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'") != 1 ]]; then
    psql_q -c "CREATE DATABASE $PG_DB" >/dev/null
    what+=", created database $PG_DB"
  fi
  log postgres "$what on 127.0.0.1:$PG_PORT ($(elapsed "$start"))"
}

# ---------------------------------------------------------------- registry

registry_up() { curl -fs -o /dev/null "http://$REGISTRY_ADDR/v2/"; }

# The packaged /etc/docker/registry/config.yml listens on all interfaces and
# expects an htpasswd file, so we use our own.
write_registry_config() {
  mkdir -p "$STATE_DIR/registry"
  cat >"$STATE_DIR/registry.yml" <<YAML
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $STATE_DIR/registry
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: $REGISTRY_ADDR
  # Fixed so the startup log carries no "generated random secret" warning.
  secret: flotilla-test-only
YAML
}

ensure_registry() {
  local start=$EPOCHREALTIME
  if registry_up; then
    log registry "already running on $REGISTRY_ADDR ($(elapsed "$start"))"
    return
  fi
  write_registry_config
  spawn_detached "$STATE_DIR/registry.log" docker-registry serve "$STATE_DIR/registry.yml" >"$STATE_DIR/registry.pid"
  wait_for 30 registry_up || { show_log "$STATE_DIR/registry.log"; die "registry did not answer on $REGISTRY_ADDR within 30 s"; }
  log registry "started on $REGISTRY_ADDR ($(elapsed "$start"), pid $(cat "$STATE_DIR/registry.pid"))"
}

# ---------------------------------------------------------------- images

# Digest the registry holds for the test tag, or nothing (a 404 is not an
# error here, hence the `|| true` against pipefail).
registry_digest() {
  { curl -fsI -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$REGISTRY_ADDR/v2/$BUSYBOX_REPO/manifests/$BUSYBOX_TAG" || true; } |
    tr -d '\r' | awk 'tolower($1) == "docker-content-digest:" { print $2 }'
}

# Rebuild when the registry lost the image (state dir wiped) or .images.json
# points at a different digest than the one the registry serves.
ensure_images() {
  local start=$EPOCHREALTIME digest
  digest=$(registry_digest)
  if [[ -n $digest && -f $IMAGES_JSON ]] && grep -qF "$REGISTRY_ADDR/$BUSYBOX_REPO@$digest" "$IMAGES_JSON"; then
    log images "present: $REGISTRY_ADDR/$BUSYBOX_REPO@$digest ($(elapsed "$start"))"
    return
  fi
  bash "$SCRIPT_DIR/build-test-images.sh" >"$STATE_DIR/build-images.log" 2>&1 ||
    { show_log "$STATE_DIR/build-images.log"; die "building the test images failed"; }
  log images "built and pushed: $(tail -n 1 "$STATE_DIR/build-images.log") ($(elapsed "$start"))"
}

# origin's component images (amd64 + arm64 manifest lists); the script skips an unchanged recipe.
ensure_origin_images() {
  local start=$EPOCHREALTIME
  bash "$SCRIPT_DIR/build-origin-images.sh" >"$STATE_DIR/build-origin-images.log" 2>&1 ||
    { show_log "$STATE_DIR/build-origin-images.log"; die "building origin's component images failed"; }
  log origin "images ready ($(elapsed "$start"))"
}

# The deployment images' base and dependencies (debootstrap, Debian packages, the production
# node_modules: ~2.5 min on a fresh machine, seconds once built) are built in the background
# while the suite compiles and runs: the compose e2e then waits only for what is left (its own
# build-images.sh run takes the same lock and skips what exists). A failure here is the compose
# e2e's to report, when it builds them again.
start_deploy_dependencies() {
  local log="$STATE_DIR/deploy-dependencies.log"
  # A one-off build that ends by itself: its pid is not kept (nothing stops it).
  spawn_detached "$log" bash "$SCRIPT_DIR/../../deploy/build-images.sh" --dependencies >/dev/null
  log deploy "dependency images building in the background (log: $log)"
}

# ---------------------------------------------------------------- main

main() {
  [[ $(id -u) -eq 0 ]] || die "must run as root (installs packages, starts dockerd)"
  mkdir -p "$STATE_DIR"
  # Serialize concurrent runs (two `npm test` at once) so they do not race to
  # start the same daemons: re-run this script under flock. -o keeps the lock
  # fd in flock itself; were it inherited, every daemon we start would hold
  # the lock forever and the next run would hang.
  if [[ ${1:-} != --locked ]]; then
    exec flock -o -w 900 "$STATE_DIR/ensure-services.lock" bash "${BASH_SOURCE[0]}" --locked ||
      die "timed out waiting for another ensure-services.sh run"
  fi
  local start=$EPOCHREALTIME

  ensure_packages
  ensure_docker
  prune_test_networks
  ensure_postgres
  ensure_registry
  ensure_images
  ensure_origin_images
  start_deploy_dependencies
  log total "$(elapsed "$start") (state in $STATE_DIR)"
}

main "$@"
