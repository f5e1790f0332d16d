/**
 * The orchestration bench's no-op twin: a workflow of the pipeline's shape (its activities in
 * order, its child workflows where it starts them) whose every activity does nothing, so that what
 * it costs is what Temporal and the SDK cost for that shape.
 */
import { executeChild, proxyActivities, workflowInfo } from '@temporalio/workflow';

/** One step of the shape: an activity, or child workflows started together, each running `activities` no-ops. */
export type TwinStep = { activity: string } | { children: number; activities: number };

export interface TwinInput {
  steps: TwinStep[];
  /** The pipeline's input, carried as its own is (the same payload in history). */
  payload: unknown;
}

const { noop } = proxyActivities<{ noop(name: string): Promise<void> }>({ startToCloseTimeout: '1 minute' });

export async function noopPipeline(input: TwinInput): Promise<void> {
  for (const [index, step] of input.steps.entries()) {
    if ('activity' in step) {
      await noop(step.activity);
      continue;
    }
    await Promise.all(
      Array.from({ length: step.children }, (_, child) => executeChild(noopChild, { workflowId: `${workflowInfo().workflowId}/child-${index}-${child}`, args: [step.activities] })),
    );
  }
}

export async function noopChild(activities: number): Promise<void> {
  for (let i = 0; i < activities; i++) await noop(`child-${i}`);
}
