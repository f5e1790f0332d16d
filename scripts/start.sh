#!/usr/bin/env bash
# npm start: set up, start the Temporal dev server (or use TEMPORAL_ADDRESS) and a worker, and run
# the example pipeline on the sim target; `npm start -- --target local` runs it on the local cluster
# (which needs the Kubernetes control plane, Helm and the GCS emulator: built once here).
set -euo pipefail
cd "$(dirname "$0")/.."
case " $* " in
  *" --target local "* | *" --target=local "*) bash scripts/setup.sh ;;
  *) bash scripts/setup.sh start ;;
esac
exec node --import tsx src/cli/local-run.ts "$@"
