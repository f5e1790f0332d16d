/**
 * Which GPUs Compute Engine attaches to which machine types, and how many (cloud.google.com/compute/docs/gpus):
 * T4 and V100 attach to N1 machine types in counts of 1, 2, 4 (and 8 for V100), each count with a
 * vCPU ceiling; L4, A100 and H200 come with accelerator-optimized machine types (G2, A2, A3) whose
 * GPU count is fixed by the type. A GKE node pool is created with the same contract.
 */
import type { DeploymentSpec } from './schema.js';

export type AcceleratorType = DeploymentSpec['nodePool']['acceleratorType'];

type Attachment =
  /** N1 machine types; per allowed count, the most vCPUs a VM with that many GPUs may have. */
  | { readonly family: 'n1'; readonly maxVcpusByCount: Readonly<Record<number, number>> }
  /** Accelerator-optimized machine types, each with its fixed GPU count. */
  | { readonly family: string; readonly countByMachineType: Readonly<Record<string, number>> };

const ATTACHMENTS: Readonly<Record<AcceleratorType, Attachment>> = {
  'nvidia-tesla-t4': { family: 'n1', maxVcpusByCount: { 1: 48, 2: 48, 4: 96 } },
  'nvidia-tesla-v100': { family: 'n1', maxVcpusByCount: { 1: 12, 2: 24, 4: 48, 8: 96 } },
  'nvidia-l4': {
    family: 'g2',
    countByMachineType: { 'g2-standard-4': 1, 'g2-standard-8': 1, 'g2-standard-12': 1, 'g2-standard-16': 1, 'g2-standard-32': 1, 'g2-standard-24': 2, 'g2-standard-48': 4, 'g2-standard-96': 8 },
  },
  'nvidia-tesla-a100': { family: 'a2', countByMachineType: { 'a2-highgpu-1g': 1, 'a2-highgpu-2g': 2, 'a2-highgpu-4g': 4, 'a2-highgpu-8g': 8, 'a2-megagpu-16g': 16 } },
  'nvidia-h200-141gb': { family: 'a3', countByMachineType: { 'a3-ultragpu-8g': 8 } },
};

/** What is wrong with attaching `count` GPUs of a type to a machine type, as Compute Engine would refuse it. */
export type AttachmentProblem =
  | { readonly kind: 'machine-type'; readonly machineTypes: readonly string[] }
  | { readonly kind: 'count'; readonly allowed: readonly number[] }
  | { readonly kind: 'vcpus'; readonly maxVcpus: number; readonly vcpus: number };

/** vCPUs of an N1 machine type (n1-standard-8, n1-highmem-16, custom-12-46080); undefined for shared-core types. */
function n1Vcpus(machineType: string): number | undefined {
  const match = /^n1-(?:standard|highmem|highcpu)-(\d+)$/.exec(machineType) ?? /^(?:n1-)?custom-(\d+)-\d+(?:-ext)?$/.exec(machineType);
  return match ? Number(match[1]) : undefined;
}

/** Undefined where the attachment is allowed, or the accelerator type is not one the spec knows. */
export function attachmentProblem(acceleratorType: string, machineType: string, count: number): AttachmentProblem | undefined {
  const attachment = ATTACHMENTS[acceleratorType as AcceleratorType] as Attachment | undefined;
  if (attachment === undefined) return undefined;
  if ('maxVcpusByCount' in attachment) {
    const vcpus = n1Vcpus(machineType);
    if (vcpus === undefined) return { kind: 'machine-type', machineTypes: ['N1 machine types (n1-standard-*, n1-highmem-*, n1-highcpu-*, N1 custom types)'] };
    const maxVcpus = attachment.maxVcpusByCount[count];
    if (maxVcpus === undefined) return { kind: 'count', allowed: Object.keys(attachment.maxVcpusByCount).map(Number) };
    return vcpus > maxVcpus ? { kind: 'vcpus', maxVcpus, vcpus } : undefined;
  }
  const fixed = attachment.countByMachineType[machineType];
  if (fixed === undefined) return { kind: 'machine-type', machineTypes: Object.keys(attachment.countByMachineType) };
  return fixed === count ? undefined : { kind: 'count', allowed: [fixed] };
}
