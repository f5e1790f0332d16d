#!/usr/bin/env bash
# Triton Model Analyzer 1.44.0 (the 24.09 release, next to our Triton 2.51) from PyPI, for the
# config-search benchmark only, in its own virtual environment (.tools/model-analyzer; reused).
# It launches .tools/bin/tritonserver and .tools/bin/perf_analyzer (scripts/setup-triton.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$PWD/.tools/model-analyzer/venv"
[ -x "$venv/bin/model-analyzer" ] && exit 0
echo "setup-model-analyzer: installing triton-model-analyzer 1.44.0 into $venv (once)" >&2
rm -rf "$venv"
"${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check \
  triton-model-analyzer==1.44.0 "tritonclient[all]==2.51.0" numpy==1.26.4 >&2
