#!/usr/bin/env bash
# The agent soak for 24 hours (the 1-hour default is what fits a working session): fails like
# `npm run bench -- agent-soak` when the agent's RSS grows more than 2 MB after the warm-up.
set -euo pipefail
cd "$(dirname "$0")/../.."
npx tsc -b shared agent
exec npm run bench -- agent-soak --minutes 1440 --warmup-minutes 30 "$@"
