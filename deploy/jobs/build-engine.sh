#!/usr/bin/env bash
# Builds one TensorRT engine inside the TensorRT container matched to the Triton image, on a GPU
# node of the target type (engines are not portable across TensorRT versions or GPUs). Inputs come
# from the Job's environment (src/plan/jobs.ts); outputs: the plan and a build record in GCS.
set -euo pipefail
: "${MODEL_NAME:?}" "${MODEL_SOURCE:?}" "${MODEL_FORMAT:?}" "${PRECISION:?}" "${PROFILES:?}"
: "${ENGINE_KEY:?}" "${PLAN_URI:?}" "${RECORD_URI:?}" "${GPU_TYPE:?}" "${TENSORRT_IMAGE:?}"

work=$(mktemp -d)
python3 -c 'import google.cloud.storage' 2>/dev/null || pip install --quiet 'google-cloud-storage>=2,<4'
fetch() { # fetch URI DEST: gs:// through the storage API (workload identity), http(s) directly
  case "$1" in
    gs://*) python3 /scripts/gcs_copy.py download "$1" "$2" ;;
    http://*|https://*) curl -fsSL --retry 3 -o "$2" "$1" ;;
    *) echo "unsupported source $1" >&2; exit 2 ;;
  esac
}

echo "building ${MODEL_NAME} (${MODEL_FORMAT}, ${PRECISION}) for ${GPU_TYPE} with ${TENSORRT_IMAGE}"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
flags=("--precision" "${PRECISION}" "--profiles" "${PROFILES}")
if [ -n "${CALIBRATION_CACHE:-}" ]; then
  fetch "${CALIBRATION_CACHE}" "${work}/calibration.cache"
  flags+=("--calibration-cache" "${work}/calibration.cache")
fi

case "${MODEL_FORMAT}" in
  onnx)
    fetch "${MODEL_SOURCE}" "${work}/model.onnx"
    python3 /scripts/build_onnx_engine.py --onnx "${work}/model.onnx" --output "${work}/model.plan" "${flags[@]}"
    ;;
  tf-checkpoint)
    # BERT through TensorRT's BERT demo builder, from the release branch matching the container.
    : "${SEQUENCE_LENGTH:?a BERT build needs SEQUENCE_LENGTH}"
    trt_version=$(python3 -c 'import tensorrt; print(".".join(tensorrt.__version__.split(".")[:2]))')
    git clone --depth 1 --branch "release/${trt_version}" https://github.com/NVIDIA/TensorRT "${work}/TensorRT"
    fetch "${MODEL_SOURCE}" "${work}/checkpoint.zip"
    unzip -q "${work}/checkpoint.zip" -d "${work}/checkpoint"
    ckpt=$(find "${work}/checkpoint" -name '*.index' | head -1); ckpt=${ckpt%.index}
    vocab=$(find "${work}/checkpoint" -name 'vocab.txt' | head -1)
    config=$(find "${work}/checkpoint" -name 'bert_config.json' | head -1)
    squad="${work}/squad-dev.json"
    fetch "${SQUAD_DEV_URI:-https://rajpurkar.github.io/SQuAD-explorer/dataset/dev-v2.0.json}" "${squad}"
    batch_flags=()
    IFS=';' read -ra triples <<< "${PROFILES}"
    for triple in "${triples[@]}"; do batch_flags+=("-b" "$(cut -d, -f2 <<< "${triple}")"); done
    precision_flags=("--fp16")
    [ "${PRECISION}" = "int8" ] && precision_flags+=("--int8" "--strict" "-imh" "-iln" "--squad-json" "${squad}" "-v" "${vocab}")
    (cd "${work}/TensorRT/demo/BERT" && python3 builder.py -m "${ckpt}" -c "$(dirname "${config}")" -o "${work}/model.plan" \
      -s "${SEQUENCE_LENGTH}" "${batch_flags[@]}" "${precision_flags[@]}")
    ;;
  *) echo "unsupported format ${MODEL_FORMAT}" >&2; exit 2 ;;
esac

python3 /scripts/gcs_copy.py upload "${work}/model.plan" "${PLAN_URI}"
python3 /scripts/gcs_copy.py record "${work}/model.plan" "${RECORD_URI}" \
  --engine-key "${ENGINE_KEY}" --model "${MODEL_NAME}" --plan-uri "${PLAN_URI}" --image "${TENSORRT_IMAGE}" \
  --gpu "${GPU_TYPE}" --profiles "${PROFILES}" --flags "${PRECISION}"
echo "engine ${ENGINE_KEY} written to ${PLAN_URI}"
