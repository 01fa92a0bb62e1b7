#!/usr/bin/env bash
# The whole mutation scope as small Stryker runs, one after the other.
#
# Stryker writes scores and the incremental file (docs/testing/stryker-incremental.json) only
# when a run ends, so one run over the whole scope (2 to 2.5 hours on 2 cores) that is stopped
# leaves nothing behind. Each group below ends on its own and records its results; the next
# group starts from them, and a stopped sequence resumes where it stopped (the finished groups'
# mutants are carried over unchanged). Each group's report is kept as
# reports/mutation/<group>.json. Extra arguments go to every run (e.g. --concurrency 1).
#
#   bash scripts/mutation-groups.sh                     # every group
#   bash scripts/mutation-groups.sh --concurrency 4     # two test runners (idle 2-core machine)
#   bash scripts/mutation-groups.sh --concurrency 1     # on a shared machine
#   MUTATION_GROUPS="services-stats util" bash scripts/mutation-groups.sh   # these groups, in this order
#
# With the TypeScript checker, Stryker splits --concurrency between checkers (half, rounded up)
# and test runners (half, rounded down, at least 1): --concurrency 2 and 3 still run ONE test
# runner; two need --concurrency 4.
set -uo pipefail
cd "$(dirname "$0")/.."
groups=(
  "processors-lib=processors/lib/**/*.ts"
  "runner=runner/scenario-result.ts,runner/results.ts,runner/gates.ts,runner/generator-health.ts,runner/capacity/search.ts"
  "util=backend/src/util/**/*.ts"
  "websocket-forwarding=backend/src/websocket/connection-manager.ts,backend/src/websocket/message-router.ts,backend/src/websocket/prebuilt-frame.ts,backend/src/websocket/write-coalescer.ts"
  "websocket-server=backend/src/websocket/server.ts,backend/src/websocket/heartbeat.ts,backend/src/websocket/device-frame.ts,backend/src/websocket/close-codes.ts,backend/src/websocket/broadcaster.ts"
  "services-stats=backend/src/services/stats/**/*.ts"
  "services-device-data=backend/src/services/device-data/**/*.ts"
  "services=backend/src/services/*.ts"
)
if [[ -n "${MUTATION_GROUPS:-}" ]]; then
  chosen=()
  for want in $MUTATION_GROUPS; do
    found=
    for entry in "${groups[@]}"; do [[ ${entry%%=*} == "$want" ]] && chosen+=("$entry") && found=1; done
    [[ -n $found ]] || { echo "unknown group '$want'; groups: ${groups[*]%%=*}" >&2; exit 2; }
  done
  groups=("${chosen[@]}")
fi
status=0
for entry in "${groups[@]}"; do
  name=${entry%%=*}
  files=${entry#*=}
  echo "== $(date +%T) $name: $files"
  if pnpm test:mutation --mutate "$files" "$@"; then
    cp reports/mutation/mutation.json "reports/mutation/$name.json"
  else
    echo "== $name failed; later groups still run" >&2
    status=1
  fi
done
exit $status
