/**
 * The orchestration bench's no-op twins: workflows of the pipeline's shape (its activities in
 * order, its child workflows where it starts them) whose every activity does nothing, so that what
 * they cost is what Temporal and the SDK cost for that shape. The sized twin also carries the
 * pipeline's payload sizes (each activity's input and result, each child's, the run's result), so
 * that it costs what Temporal costs for the pipeline's history.
 */
import { executeChild, proxyActivities, workflowInfo } from '@temporalio/workflow';

/** Bytes of a call's input and result payloads (0 in the bare twin). */
export interface PayloadSizes {
  inputBytes: number;
  resultBytes: number;
}

export interface ChildShape extends PayloadSizes {
  activities: PayloadSizes[];
}

/** One step of the shape: an activity, or child workflows started together. */
export type TwinStep = ({ activity: string } & PayloadSizes) | { children: ChildShape[] };

export interface TwinInput {
  steps: TwinStep[];
  /** The pipeline's input, carried as its own is (the same payload in history). */
  payload: unknown;
  resultBytes: number;
}

const { noop } = proxyActivities<{ noop(name: string, input: string, resultBytes: number): Promise<string> }>({ startToCloseTimeout: '1 minute' });

const filler = (bytes: number) => 'x'.repeat(bytes);

export async function noopPipeline(input: TwinInput): Promise<string> {
  for (const [index, step] of input.steps.entries()) {
    if ('activity' in step) {
      await noop(step.activity, filler(step.inputBytes), step.resultBytes);
      continue;
    }
    await Promise.all(
      step.children.map((child, i) => executeChild(noopChild, { workflowId: `${workflowInfo().workflowId}/child-${index}-${i}`, args: [child, filler(child.inputBytes)] })),
    );
  }
  return filler(input.resultBytes);
}

export async function noopChild(shape: ChildShape, _input: string): Promise<string> {
  for (const [i, sizes] of shape.activities.entries()) await noop(`child-${i}`, filler(sizes.inputBytes), sizes.resultBytes);
  return filler(shape.resultBytes);
}
