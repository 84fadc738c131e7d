#!/usr/bin/env bash
# A cluster under faults on this machine, for a person: a throw-away PostgreSQL (scripts/pg-temp.sh), three
# `siv node` workers and a driver on 127.0.0.1, the cluster chaos scenario, the report on stdout. Everything it
# starts is stopped by PID when it ends, whatever happens; it exits with the run's exit code.
#   scripts/chaos-local.sh [SCENARIO]        (default: config/scenarios/chaos-cluster.json)
# Logs and report.json: in a temporary directory, named at the end.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
scenario="${1:-$root/config/scenarios/chaos-cluster.json}"
if [[ ! -f "$scenario" ]]; then echo "chaos-local: scenario $scenario does not exist" >&2; exit 2; fi
scenario="$(cd "$(dirname "$scenario")" && pwd)/$(basename "$scenario")"

# A PostgreSQL every node shares: the crashed worker's tables recover on the survivors from it.
if [[ -z "${SIV_TEST_POSTGRES:-}" ]]; then exec "$root/scripts/pg-temp.sh" "$0" "$scenario"; fi

echo "chaos-local: building siv (Release)" >&2
if ! log="$(dotnet build "$root/src/SivActors.Cli" -c Release -nologo -v quiet -clp:ErrorsOnly 2>&1)"; then
  printf '%s\n' "$log" >&2; echo "chaos-local: the build failed (above); nothing was started" >&2; exit 1
fi
siv="$root/src/SivActors.Cli/bin/Release/net10.0/siv"
"$siv" validate "$scenario" >/dev/null

# A scenario that cuts links needs Akka.Remote's throttler on every node (decision 47); others run without it.
# One that restarts a crashed worker needs each worker under a keeper (decision 54).
flags=()
if grep -Eq '"kind"[[:space:]]*:[[:space:]]*"partition"' "$scenario"; then flags+=(--partitionable); fi
if grep -Eq '"kind"[[:space:]]*:[[:space:]]*"restart-node"' "$scenario"; then flags+=(--restartable); fi

work="$(mktemp -d /tmp/siv-chaos.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for _ in $(seq 1 100); do
    alive=0; for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [[ $alive -eq 0 ]] && break; sleep 0.1
  done
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

# Three free ports on loopback: nothing answers a connection to them.
ports=()
while [[ ${#ports[@]} -lt 3 ]]; do
  p=$((20000 + RANDOM % 40000))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && [[ " ${ports[*]} " != *" $p "* ]]; then ports+=("$p"); fi
done
# Every worker is a seed: a worker restarted by its keeper (restart-node) joins the others through them; a lone
# first seed that starts again would form a cluster of its own.
seed="127.0.0.1:${ports[0]}"
seeds="127.0.0.1:${ports[0]},127.0.0.1:${ports[1]},127.0.0.1:${ports[2]}"
for i in 0 1 2; do
  "$siv" node --port "${ports[$i]}" --seeds "$seeds" --postgres "$SIV_TEST_POSTGRES" "${flags[@]}" >"$work/worker$i.log" 2>&1 &
  pids+=("$!")
  echo "chaos-local: worker $i on 127.0.0.1:${ports[$i]} (pid ${pids[$i]}, log $work/worker$i.log)" >&2
done
for _ in $(seq 1 600); do
  grep -q "members: 3" "$work/worker0.log" 2>/dev/null && break
  for p in "${pids[@]}"; do
    if ! kill -0 "$p" 2>/dev/null; then echo "chaos-local: a worker exited before the cluster formed; see $work" >&2; exit 1; fi
  done
  sleep 0.1
done
grep -q "members: 3" "$work/worker0.log" || { echo "chaos-local: the three workers did not form a cluster within 60 s; see $work" >&2; exit 1; }

set +e
"$siv" run --cluster "$seed" --workers 3 --scenario "$scenario" --postgres "$SIV_TEST_POSTGRES" --fresh --out "$work/out"
code=$?
set -e
echo "chaos-local: exit $code; report $work/out/report.json, worker logs $work/worker*.log" >&2
exit $code
