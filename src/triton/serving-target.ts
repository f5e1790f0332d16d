/**
 * How a model is served: on GKE (and the simulated GKE) a TensorRT engine on a T4; on the local
 * target the ONNX model on the CPU, run by ONNX Runtime inside Triton's python backend
 * (deploy/local/triton_onnx_model.py is written beside it); on a GPU machine without TensorRT (the
 * GPU benchmark, bench/gpu) the network in PyTorch on the GPU inside the python backend
 * (deploy/gpu/triton_torch_model.py). The repository layout and config.pbtxt come from the same
 * code; only these differ.
 */
import type { ModelSpec, Target } from '../spec/schema.js';
import { type ModelConfigInput, modelConfigFromVariant } from './model-config.js';
import type { ModelConfigTarget } from './model-config.js';

export type ServingKind = 'tensorrt-gpu' | 'onnx-cpu' | 'torch-gpu';

export interface ServingTarget extends ModelConfigTarget {
  /** The model file in <variant>/1/. */
  modelFile: 'model.plan' | 'model.onnx' | 'model.py';
}

export const SERVING_TARGETS: Readonly<Record<ServingKind, Readonly<ServingTarget>>> = {
  'tensorrt-gpu': { platform: 'tensorrt_plan', kind: 'KIND_GPU', modelFile: 'model.plan' },
  'onnx-cpu': { platform: 'python', kind: 'KIND_CPU', modelFile: 'model.onnx' },
  'torch-gpu': { platform: 'python', kind: 'KIND_GPU', modelFile: 'model.py' },
};

export function servingTargetFor(target: Target): ServingTarget {
  return SERVING_TARGETS[target === 'local' ? 'onnx-cpu' : 'tensorrt-gpu'];
}

/** The PyTorch networks deploy/gpu/triton_torch_model.py builds. */
export type TorchNetwork = 'resnet50' | 'bert-large-seq384';

/**
 * The network that stands in for a model on the torch-gpu kind: the sample's two models, by
 * format (its ONNX model is ResNet50, its Transformers model BERT-Large at sequence length 384).
 */
export function torchNetworkFor(model: Pick<ModelSpec, 'name' | 'format' | 'sequenceLength'>): TorchNetwork {
  if (model.format === 'onnx') return 'resnet50';
  if (model.sequenceLength !== 384) {
    throw new Error(`model "${model.name}": the torch-gpu kind serves BERT-Large at sequence length 384 only, got ${model.sequenceLength ?? 'none'}`);
  }
  return 'bert-large-seq384';
}

/** config.pbtxt of one variant on the torch-gpu kind: the variant's serving choices, the network and its weights' seed. */
export function torchGpuModelConfig(model: ModelSpec, variant: ModelSpec['variants'][number], seed: number, gpusPerPod = 1): ModelConfigInput {
  return {
    ...modelConfigFromVariant(model, variant, SERVING_TARGETS['torch-gpu'], gpusPerPod),
    parameters: { network: torchNetworkFor(model), seed: String(seed) },
  };
}
