#!/usr/bin/env bash
# npm start: set up, start the Temporal dev server (or use TEMPORAL_ADDRESS) and a worker, and run
# the example pipeline on the sim target.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh start
exec node --import tsx src/client/local-run.ts "$@"
