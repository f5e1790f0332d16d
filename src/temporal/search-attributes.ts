/** Custom search attributes that make runs findable in the Web UI (registered by the set-up). */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const TRITON_MODELS = defineSearchAttributeKey('TritonModels', SearchAttributeType.KEYWORD_LIST);
export const TRITON_TARGET = defineSearchAttributeKey('TritonTarget', SearchAttributeType.KEYWORD);
export const TRITON_RELEASE = defineSearchAttributeKey('TritonRelease', SearchAttributeType.KEYWORD);
export const PIPELINE_OUTCOME = defineSearchAttributeKey('PipelineOutcome', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTES = [TRITON_MODELS, TRITON_TARGET, TRITON_RELEASE, PIPELINE_OUTCOME];
