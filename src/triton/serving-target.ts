/**
 * How a target serves a model: on GKE (and the simulated GKE) a TensorRT engine on a T4; on the
 * local target the ONNX model on the CPU, run by ONNX Runtime inside Triton's python backend
 * (deploy/local/triton_onnx_model.py is written beside it). The repository layout and config.pbtxt
 * come from the same code; only these differ.
 */
import type { Target } from '../spec/schema.js';
import type { ModelConfigTarget } from './model-config.js';

export interface ServingTarget extends ModelConfigTarget {
  /** The model file in <variant>/1/. */
  modelFile: 'model.plan' | 'model.onnx';
}

export function servingTargetFor(target: Target): ServingTarget {
  return target === 'local'
    ? { platform: 'python', kind: 'KIND_CPU', modelFile: 'model.onnx' }
    : { platform: 'tensorrt_plan', kind: 'KIND_GPU', modelFile: 'model.plan' };
}
