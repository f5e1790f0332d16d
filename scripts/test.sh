#!/usr/bin/env bash
# npm test: set up what is missing, then run every test with node's test runner.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx tsc --noEmit
npx eslint .
export TEMPORAL_CLI="$PWD/.tools/bin/temporal"
shopt -s globstar
exec node --import tsx --test --test-concurrency=1 test/unit/**/*.test.ts test/integration/*.test.ts
