/**
 * How long `helm --wait` may take before a Triton release counts as failed, from the spec. On GKE
 * a rollout can include the image's first pull on a node (NGC's Triton images are several GB) and,
 * when the pods need more GPU nodes than the pool keeps, the cluster autoscaler adding a node and
 * the driver installing on it. A fixed timeout either fails those rollouts or makes a broken one
 * wait far too long. Pure.
 */
import type { DeploymentSpec } from '../spec/schema.js';

/** The floor: Triton's start and model load on any target, with room for a slow machine. */
export const MIN_HELM_WAIT_SECONDS = 900;
/** The helm activity's start-to-close timeout on GKE must stay above this. */
export const MAX_HELM_WAIT_SECONDS = 3600;

/** Start, repository download and model load (TensorRT plans of hundreds of MB from GCS). */
const TRITON_START_SECONDS = 300;
/** First pull of a full NGC Triton image (about 7 GB compressed) onto a node's boot disk. */
const NGC_TRITON_PULL_SECONDS = 720;
/** First pull of any other (slimmer, usually custom) image. */
const OTHER_IMAGE_PULL_SECONDS = 300;
/** The autoscaler's scale-up decision, the GPU VM's creation and registration. */
const NODE_PROVISION_SECONDS = 300;
/** The driver install on a new GPU node, until the node advertises nvidia.com/gpu. */
const DRIVER_INSTALL_SECONDS = 300;

export interface HelmWait {
  seconds: number;
  /** What the wait is made of, for the plan and the logs. */
  parts: Array<{ part: string; seconds: number }>;
}

/** Whether an image is one of NGC's full Triton images (`nvcr.io/nvidia/tritonserver:YY.MM-py3`). */
export function isFullNgcTritonImage(image: string): boolean {
  return /^nvcr\.io\/nvidia\/tritonserver:\d{2}\.\d{2}-py3$/.test(image);
}

/**
 * A rollout adds one pod beside the release's replicas (the rolling update's surge pod, a preview
 * or a canary), each pod taking a whole node's GPUs (gpusPerReplica = acceleratorCount): the pool
 * must grow when those pods outnumber the nodes it keeps at its minimum.
 */
export function rolloutGrowsPool(spec: DeploymentSpec): boolean {
  const replicas = Math.max(spec.release.replicas, spec.autoscaling.enabled ? spec.autoscaling.minReplicas : 0);
  return replicas + 1 > spec.nodePool.minNodes;
}

export function helmWait(spec: DeploymentSpec): HelmWait {
  if (spec.target !== 'gke') {
    // Images are present and nodes exist up front (the simulator, kwok nodes).
    return { seconds: MIN_HELM_WAIT_SECONDS, parts: [{ part: 'Triton start and model load', seconds: MIN_HELM_WAIT_SECONDS }] };
  }
  const parts = [
    { part: 'Triton start and model load', seconds: TRITON_START_SECONDS },
    {
      part: isFullNgcTritonImage(spec.release.image) ? 'first pull of the NGC Triton image' : 'first pull of the Triton image',
      seconds: isFullNgcTritonImage(spec.release.image) ? NGC_TRITON_PULL_SECONDS : OTHER_IMAGE_PULL_SECONDS,
    },
    ...(rolloutGrowsPool(spec)
      ? [
          { part: 'a new GPU node from the cluster autoscaler', seconds: NODE_PROVISION_SECONDS },
          { part: 'the GPU driver on the new node', seconds: DRIVER_INSTALL_SECONDS },
        ]
      : []),
  ];
  const total = parts.reduce((sum, p) => sum + p.seconds, 0);
  return { seconds: Math.min(MAX_HELM_WAIT_SECONDS, Math.max(MIN_HELM_WAIT_SECONDS, total)), parts };
}
