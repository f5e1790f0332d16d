/**
 * Writes the GPU benchmark's plans (run by bench/gpu/run.py on a machine with an NVIDIA GPU): the
 * model repository the pipeline renders for the torch-gpu serving kind and, per concurrency point,
 * the pipeline's own perf_analyzer argv (buildPerfAnalyzerArgs, one point a run so that Triton's
 * GPU gauges are read at each load).
 *
 *   npx tsx bench/gpu/plan.ts [DIR]     (default .gpu-run/)
 *
 * - chapters.json: the sample's chapters, ResNet50 with 1 and 4 instances (batch-32 requests) and
 *   BERT-Large with 1 and 2 instances (batch-16 requests), concurrency 1..10, from examples/sim-seed.yaml.
 * - bert-long.json: BERT-Large's two chapters again with 4 s windows (BERT_SWEEP_SETTINGS).
 * - search.json: an exhaustive grid of ResNet50 serving configs, two shuffled rounds, for replaying
 *   the re-optimization's search on GPU data.
 * - placement.json: the placements of ResNet50's 4-instance variant on a machine with one GPU: as a
 *   1-GPU pod renders it (gpus [0]), as a multi-GPU pod renders it (no gpus list), split into two
 *   groups of 2 on GPU 0, and naming a GPU the machine lacks (which Triton must refuse to load).
 * - multi-gpu.json: the same 4-instance variant as a pod with several GPUs renders it (no gpus
 *   list), concurrency 2..16, for a machine with two GPUs: run once with CUDA_VISIBLE_DEVICES=0 and
 *   once with 0,1 (one Triton, one and two GPUs) to show throughput and each GPU's utilization.
 */
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/assets.js';
import type { ModelSpec, VariantSpec } from '../../src/spec/schema.js';
import { parseSpecText } from '../../src/spec/load.js';
import { renderModelConfig } from '../../src/triton/model-config.js';
import { buildPerfAnalyzerArgs } from '../../src/triton/perf-output.js';
import { torchGpuModelConfig, torchNetworkFor } from '../../src/triton/serving-target.js';
import { mulberry32 } from '../../src/sim/perf-model.js';
import { BERT_SWEEP_SETTINGS, GPU_SWEEP_SETTINGS, GPU_WEIGHTS_SEED, SEARCH_GRID, searchVariantName, type SweepSettings } from './settings.js';

/** Output bytes per sample, for perf_analyzer's output shared-memory regions (fp16 outputs). */
const OUTPUT_BYTES_PER_SAMPLE = { resnet50: 1000 * 2, 'bert-large-seq384': 384 * 2 } as const;

interface PlanSweep {
  id: string;
  model: string;
  round: number;
  points: Array<{ concurrency: number; argv: string[] }>;
}

interface Plan {
  name: string;
  modelFile: string;
  models: Array<{ name: string; configPbtxt: string }>;
  sweeps: PlanSweep[];
}

function pointArgv(model: ModelSpec, name: string, concurrency: number, settings: SweepSettings): string[] {
  const batchSize = model.sla.batchSize;
  return buildPerfAnalyzerArgs({
    model: name,
    url: 'localhost:8001',
    protocol: 'grpc',
    batchSize,
    concurrency: { start: concurrency, end: concurrency, step: 1 },
    percentile: model.sla.percentile,
    shapes: [],
    csvPath: '@CSV@',
    ...settings,
    systemSharedMemory: { outputBytes: batchSize * OUTPUT_BYTES_PER_SAMPLE[torchNetworkFor(model)] },
  });
}

function sweepOf(model: ModelSpec, name: string, round: number, concurrencies: readonly number[], settings: SweepSettings = GPU_SWEEP_SETTINGS): PlanSweep {
  return { id: `${name}#${round}`, model: name, round, points: concurrencies.map((c) => ({ concurrency: c, argv: pointArgv(model, name, c, settings) })) };
}

function modelEntry(model: ModelSpec, variant: VariantSpec, gpusPerPod = 1) {
  return { name: variant.name, configPbtxt: renderModelConfig(torchGpuModelConfig(model, variant, GPU_WEIGHTS_SEED, gpusPerPod)) };
}

/** The one instance group of a rendered config, repeated `groups` times (Triton adds up the groups' instances). */
function repeatInstanceGroup(configPbtxt: string, groups: number): string {
  const block = /^instance_group \[\n( {2}\{\n[\s\S]*?\n {2}\})\n\]$/m;
  const group = block.exec(configPbtxt)?.[1];
  if (group === undefined) throw new Error('rendered config has no single instance_group block');
  return configPbtxt.replace(block, `instance_group [\n${Array(groups).fill(group).join(',\n')}\n]`);
}

/** ResNet50's 4-instance variant placed four ways on one GPU (see the header). */
function placementModels(resnet: ModelSpec) {
  const variant = resnet.variants.find((v) => v.instances === 4);
  if (variant === undefined) throw new Error('examples/sim-seed.yaml: ResNet50 has no 4-instance variant');
  const named = (name: string, instances = variant.instances): VariantSpec => ({ ...variant, name, instances });
  const gpu1 = modelEntry(resnet, named('resnet50-i4-gpu1'));
  return [
    modelEntry(resnet, named('resnet50-i4-gpu0')),
    modelEntry(resnet, named('resnet50-i4-every-gpu'), 2),
    { name: 'resnet50-2x2-gpu0', configPbtxt: repeatInstanceGroup(modelEntry(resnet, named('resnet50-2x2-gpu0', 2)).configPbtxt, 2) },
    { ...gpu1, configPbtxt: gpu1.configPbtxt.replace('gpus: [ 0 ]', 'gpus: [ 1 ]') },
  ];
}

const range = (start: number, end: number, step = 1) => Array.from({ length: Math.floor((end - start) / step) + 1 }, (_, i) => start + i * step);

async function main(): Promise<void> {
  const dir = process.argv[2] ?? join(PROJECT_ROOT, '.gpu-run');
  const parsed = parseSpecText(await readFile(join(PROJECT_ROOT, 'examples/sim-seed.yaml'), 'utf8'));
  if (!parsed.ok) throw new Error(`examples/sim-seed.yaml: ${JSON.stringify(parsed.errors)}`);
  const [resnet, bert] = parsed.spec.models as [ModelSpec, ModelSpec];
  await mkdir(dir, { recursive: true });
  await copyFile(join(PROJECT_ROOT, 'deploy/gpu/triton_torch_model.py'), join(dir, 'model.py'));

  // The sample's variants, named for what runs here (PyTorch fp16, not TensorRT INT8).
  const chapterModels = [resnet, bert].flatMap((model) =>
    model.variants.map((variant) => ({ model, variant: { ...variant, name: `${model.name}-i${variant.instances}` } })),
  );
  const chapters: Plan = {
    name: 'chapters',
    modelFile: 'model.py',
    models: chapterModels.map(({ model, variant }) => modelEntry(model, variant)),
    sweeps: chapterModels.map(({ model, variant }) => sweepOf(model, variant.name, 1, range(1, 10))),
  };

  const grid = SEARCH_GRID.instances.flatMap((instances) =>
    SEARCH_GRID.maxBatchSizes.flatMap((maxBatchSize) =>
      SEARCH_GRID.queueDelaysUs.map(
        (delay): VariantSpec => ({
          name: searchVariantName({ instances, maxBatchSize, maxQueueDelayMicroseconds: delay }),
          instances,
          maxBatchSize,
          dynamicBatching: { preferredBatchSizes: [], maxQueueDelayMicroseconds: delay },
        }),
      ),
    ),
  );
  const random = mulberry32(SEARCH_GRID.shuffleSeed);
  const rounds = range(1, SEARCH_GRID.rounds).flatMap((round) => {
    const order = grid.map((variant) => ({ variant, key: random() })).sort((a, b) => a.key - b.key);
    return order.map(({ variant }) => sweepOf(resnet, variant.name, round, SEARCH_GRID.concurrencies));
  });
  const search: Plan = { name: 'search', modelFile: 'model.py', models: grid.map((variant) => modelEntry(resnet, variant)), sweeps: rounds };

  const bertModels = chapterModels.filter(({ model }) => model === bert);
  const bertLong: Plan = {
    name: 'bert-long',
    modelFile: 'model.py',
    models: bertModels.map(({ model, variant }) => modelEntry(model, variant)),
    sweeps: bertModels.map(({ model, variant }) => sweepOf(model, variant.name, 1, range(1, 10), BERT_SWEEP_SETTINGS)),
  };

  const placed = placementModels(resnet);
  const placementRounds = range(1, 2).flatMap((round) =>
    (round === 1 ? placed.slice(0, 3) : placed.slice(0, 3).reverse()).map(({ name }) => sweepOf(resnet, name, round, SEARCH_GRID.concurrencies)),
  );
  const placement: Plan = { name: 'placement', modelFile: 'model.py', models: placed, sweeps: [...placementRounds, sweepOf(resnet, placed[3]!.name, 1, [2])] };

  const everyGpu = placed[1]!;
  const multiGpu: Plan = { name: 'multi-gpu', modelFile: 'model.py', models: [everyGpu], sweeps: range(1, 2).map((round) => sweepOf(resnet, everyGpu.name, round, range(2, 16, 2))) };

  for (const plan of [chapters, bertLong, search, placement, multiGpu]) {
    await writeFile(join(dir, `${plan.name}.json`), JSON.stringify(plan, null, 1));
    console.log(`${join(dir, plan.name)}.json: ${plan.models.length} models, ${plan.sweeps.length} sweeps, ${plan.sweeps.reduce((n, s) => n + s.points.length, 0)} points`);
  }
}

await main();
