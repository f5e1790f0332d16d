#!/usr/bin/env bash
# Builds one TensorRT engine on a GPU node of the target type (engines are not portable across
# TensorRT releases or GPUs), in the engine builder image: NGC's TensorRT container of the Triton
# image's release with the build's Python packages baked in (deploy/images/engine-builder). Nothing
# is installed or cloned at run time: private GKE clusters have no internet egress.
# Input: the Job's environment (src/plan/jobs.ts); BUILD_PLAN says what to build
# (src/plan/engine-build.ts). Outputs: the plan, a new calibration cache when calibrated from data,
# and the build record, in GCS.
set -euo pipefail
: "${MODEL_NAME:?}" "${BUILD_PLAN:?}" "${PROFILES:?}"
: "${ENGINE_KEY:?}" "${PLAN_URI:?}" "${RECORD_URI:?}" "${GPU_TYPE:?}" "${TENSORRT_IMAGE:?}"
export PYTHONUNBUFFERED=1

# Fail fast, saying what to do, when the image lacks what this plan needs (exit 3).
python3 /scripts/engine_plan.py check-deps

echo "building ${MODEL_NAME} for ${GPU_TYPE} with ${TENSORRT_IMAGE}"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
work=$(mktemp -d)
python3 /scripts/build_onnx_engine.py --work "${work}"

python3 /scripts/gcs_copy.py upload "${work}/model.plan" "${PLAN_URI}"
if [ -f "${work}/calibration.cache" ]; then
  cache_uri="${PLAN_URI%/*}/calibration.cache"
  python3 /scripts/gcs_copy.py upload "${work}/calibration.cache" "${cache_uri}"
  echo "calibration cache written by this build: ${cache_uri} (name it in models[].calibration.cache to reuse it)"
fi
python3 /scripts/gcs_copy.py record "${work}/model.plan" "${RECORD_URI}" \
  --engine-key "${ENGINE_KEY}" --model "${MODEL_NAME}" --plan-uri "${PLAN_URI}" --image "${TENSORRT_IMAGE}" \
  --gpu "${GPU_TYPE}" --profiles "${PROFILES}" --summary "${work}/summary.json"
echo "engine ${ENGINE_KEY} written to ${PLAN_URI}"
