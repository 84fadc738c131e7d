#!/usr/bin/env bash
# Brings the docker-compose cluster up on a machine that cannot pull images, runs the default scenario over it,
# checks the report, and tears everything down again. As root:
#   1. installs Debian's docker.io, docker-compose and debootstrap if missing, starts dockerd if none runs;
#   2. builds local base images once: a minimal bookworm rootfs (debootstrap + docker import), a .NET runtime image
#      with the runtime copied from this machine's SDK, and a PostgreSQL 15 image;
#   3. publishes the app, builds the siv image on the local runtime (--build-arg BASE_IMAGE=...), runs
#      `docker-compose up --exit-code-from run`, and checks out/compose/report.json: every ledger balanced,
#      misdelivered 0, invariants hold;
#   4. always: `docker-compose down -v` (containers, networks, volumes) and stops the dockerd it started.
# SIV_DURATION (seconds, default 20) is passed to the run. SIV_SCENARIO=config/scenarios/chaos-cluster.json runs that
# scenario instead (its partition and crash faults: the nodes apply the throttler, the workers run detached).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
[[ $(id -u) -eq 0 ]] || { echo "compose-up-local: run as root (it installs packages and starts dockerd)" >&2; exit 2; }

log() { echo "compose-up-local: $*"; }
export DEBIAN_FRONTEND=noninteractive
need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v debootstrap >/dev/null || need+=(debootstrap)
if ((${#need[@]})); then
  log "installing ${need[*]}"
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

STARTED_DOCKERD=""
HAD_DOCKER0=1
WORK=$(mktemp -d /tmp/siv-compose.XXXXXX)
cleanup() {
  set +e
  if [[ -f "$ROOT/docker-compose.yml" ]] && docker info >/dev/null 2>&1; then
    log "tearing down"
    (cd "$ROOT" && docker-compose down -v --remove-orphans >/dev/null 2>&1)
  fi
  if [[ -n "$STARTED_DOCKERD" ]]; then
    log "stopping the dockerd it started (pid $STARTED_DOCKERD)"
    kill "$STARTED_DOCKERD" 2>/dev/null
    for _ in $(seq 1 30); do kill -0 "$STARTED_DOCKERD" 2>/dev/null || break; sleep 1; done
    # dockerd leaves its default bridge behind; it was not there before this script.
    [[ -z "$HAD_DOCKER0" ]] && ip link delete docker0 2>/dev/null
  fi
  mountpoint -q "$WORK/pgroot/proc" 2>/dev/null && umount "$WORK/pgroot/proc"
  rm -rf "$WORK"
}
trap cleanup EXIT

HAD_DOCKER0=""
ip link show docker0 >/dev/null 2>&1 && HAD_DOCKER0=1
if ! docker info >/dev/null 2>&1; then
  log "starting dockerd"
  dockerd >"$WORK/dockerd.log" 2>&1 &
  STARTED_DOCKERD=$!
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { echo "compose-up-local: dockerd did not start; see $WORK/dockerd.log" >&2; cat "$WORK/dockerd.log" >&2; exit 1; }
fi

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# The Debian mirror debootstrap fetches bookworm from: $SIV_DEBIAN_MIRROR, else the first one this machine's apt
# sources use for bookworm's main component (deb822 .sources files, then one-line .list files), else
# deb.debian.org. A machine behind its own mirror or proxy then builds the base image the way it installs packages.
debian_mirror() {
  if [[ -n "${SIV_DEBIAN_MIRROR:-}" ]]; then echo "$SIV_DEBIAN_MIRROR"; return; fi
  local found=""
  shopt -s nullglob
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    found=$(awk '
      function flush() { if (!done && deb && bookworm && main && uri != "") { print uri; done = 1; exit } deb = bookworm = main = 0; uri = "" }
      /^[[:space:]]*$/ { flush(); next }
      /^[[:space:]]*#/ { next }
      tolower($1) == "types:"      { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
      tolower($1) == "suites:"     { for (i = 2; i <= NF; i++) if ($i == "bookworm") bookworm = 1 }
      tolower($1) == "components:" { for (i = 2; i <= NF; i++) if ($i == "main") main = 1 }
      tolower($1) == "uris:"       { uri = $2 }
      END { flush() }' "$f")
    [[ -n "$found" ]] && break
  done
  if [[ -z "$found" ]]; then
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [[ -r "$f" ]] || continue
      found=$(awk '$1 == "deb" {
          i = 2; if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
          if ($(i + 1) == "bookworm") for (j = i + 2; j <= NF; j++) if ($j == "main") { print $i; exit } }' "$f")
      [[ -n "$found" ]] && break
    done
  fi
  shopt -u nullglob
  echo "${found:-http://deb.debian.org/debian}"
}

if ! image_exists siv-base:bookworm; then
  MIRROR=$(debian_mirror)
  log "building siv-base:bookworm (debootstrap from $MIRROR, a few minutes)"
  # What Microsoft's runtime-deps image carries besides libc: TLS, CA certificates, time zones, GSSAPI (Npgsql
  # loads it), libstdc++.
  debootstrap --variant=minbase --include=libssl3,ca-certificates,tzdata,libgssapi-krb5-2,libstdc++6,zlib1g \
    bookworm "$WORK/rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -20 "$WORK/debootstrap.log" >&2; exit 1; }
  tar -C "$WORK/rootfs" -c . | docker import - siv-base:bookworm >/dev/null
fi

if ! image_exists siv-dotnet-runtime:10.0; then
  log "building siv-dotnet-runtime:10.0 from this machine's .NET runtime"
  DOTNET_ROOT_DIR=$(dirname "$(readlink -f "$(command -v dotnet)")")
  RUNTIME=$(ls -d "$DOTNET_ROOT_DIR"/shared/Microsoft.NETCore.App/10.* | sort -V | tail -1)
  mkdir -p "$WORK/runtime/dotnet/shared/Microsoft.NETCore.App"
  cp "$DOTNET_ROOT_DIR/dotnet" "$WORK/runtime/dotnet/"
  cp -r "$DOTNET_ROOT_DIR/host" "$WORK/runtime/dotnet/"
  cp -r "$RUNTIME" "$WORK/runtime/dotnet/shared/Microsoft.NETCore.App/"
  cat >"$WORK/runtime/Dockerfile" <<'DOCKERFILE'
FROM siv-base:bookworm
COPY dotnet /usr/share/dotnet
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet
ENV DOTNET_ROOT=/usr/share/dotnet
DOCKERFILE
  docker build -q -t siv-dotnet-runtime:10.0 "$WORK/runtime" >/dev/null
fi

if ! image_exists siv-postgres:15; then
  log "building siv-postgres:15 (PostgreSQL from Debian's packages)"
  mkdir -p "$WORK/pgroot"
  docker export "$(docker create siv-base:bookworm true)" | tar -C "$WORK/pgroot" -x
  printf '#!/bin/sh\nexit 101\n' >"$WORK/pgroot/usr/sbin/policy-rc.d"; chmod +x "$WORK/pgroot/usr/sbin/policy-rc.d"
  cp /etc/resolv.conf "$WORK/pgroot/etc/resolv.conf"
  mount -t proc proc "$WORK/pgroot/proc"
  chroot "$WORK/pgroot" bash -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null && apt-get clean" \
    || { echo "compose-up-local: installing PostgreSQL into the image failed" >&2; exit 1; }
  umount "$WORK/pgroot/proc"
  rm -f "$WORK/pgroot/usr/sbin/policy-rc.d"
  install -m 755 scripts/docker/postgres-entrypoint.sh "$WORK/pgroot/usr/local/bin/siv-postgres-entrypoint"
  ln -sf /usr/lib/postgresql/15/bin/pg_isready "$WORK/pgroot/usr/local/bin/pg_isready"
  tar -C "$WORK/pgroot" -c . | docker import \
    --change 'ENTRYPOINT ["/usr/local/bin/siv-postgres-entrypoint"]' --change 'EXPOSE 5432' - siv-postgres:15 >/dev/null
  docker container prune -f >/dev/null
fi

log "publishing the app"
dotnet publish src/SivActors.Cli -c Release -o artifacts/siv --nologo -v quiet >/dev/null

export SIV_BASE_IMAGE=siv-dotnet-runtime:10.0 SIV_POSTGRES_IMAGE=siv-postgres:15 SIV_IMAGE=siv:local
mkdir -p out/compose
rm -f out/compose/report.json
log "docker-compose build"
docker-compose build -q
set +e
if [[ -n "${SIV_SCENARIO:-}" ]]; then
  # A scenario of our own, e.g. config/scenarios/chaos-cluster.json: the workers run detached, so a crash-node that
  # ends one of them does not stop the others (`up --exit-code-from` would), and the driver's exit code is the run's.
  log "docker-compose up -d (PostgreSQL, seed, 2 workers), then $SIV_SCENARIO"
  SIV_PARTITIONABLE=1 docker-compose up -d postgres seed worker1 worker2
  SIV_PARTITIONABLE=1 timeout 900 docker-compose run --rm --use-aliases run \
    run --cluster seed:4053 --workers 3 --host run --port 4053 --out /out --scenario "$SIV_SCENARIO"
  rc=$?
else
  log "docker-compose up (PostgreSQL, seed, 2 workers, then the default scenario; ${SIV_DURATION:-20} s of load)"
  timeout 900 docker-compose up --exit-code-from run
  rc=$?
fi
set -e
[[ $rc -eq 0 ]] || { echo "compose-up-local: the run exited with $rc" >&2; exit 1; }
report=out/compose/report.json
[[ -f $report ]] || { echo "compose-up-local: no $report" >&2; exit 1; }
balanced=$(grep -c '"balanced": true' "$report" || true)
grep -q '"misdelivered": 0' "$report" || { echo "compose-up-local: misdelivered is not 0" >&2; exit 1; }
grep -q '"passed": true' "$report" || { echo "compose-up-local: an invariant failed" >&2; exit 1; }
[[ $balanced -eq 3 ]] || { echo "compose-up-local: not every ledger balanced ($balanced of 3: descriptors, interrupts, DMA)" >&2; exit 1; }
# The default run spreads cluster.json's six hosts over three workers: each must carry a fair part (issue 11: 20-47%).
if [[ -z "${SIV_SCENARIO:-}" ]]; then
  shares=$(python3 - "$report" <<'PY'
import json, sys
nodes = json.load(open(sys.argv[1])).get("nodes") or []
total = sum(n["operations"] for n in nodes)
print(" ".join(f'{n["node"]}={n["operations"] / total:.1%}' for n in nodes) if total else "")
bad = len(nodes) != 3 or not total or any(not 0.20 <= n["operations"] / total <= 0.47 for n in nodes)
sys.exit(1 if bad else 0)
PY
  ) || { echo "compose-up-local: the workers' shares of the operations are not each 20-47%: ${shares:-no per-node figures}" >&2; exit 1; }
  log "each worker's share of the operations: $shares"
fi
log "ledger balanced, misdelivered 0, invariants hold ($report)"
