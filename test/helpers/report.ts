/** Shared helpers for the report tests: an XML/HTML well-formedness checker, fixtures, SVG attribute readers. */
import assert from 'node:assert/strict';
import type { ReportStage, ReportVariant, RunReport } from '../../src/report/types.js';
import type { PerfPoint } from '../../src/triton/perf-types.js';


// ---------------------------------------------------------------------------
// Tiny XML well-formedness checker (no library): balanced tags, quoted unique
// attributes, valid entities, no raw '<' or '&' in text, single root element.
// ---------------------------------------------------------------------------
const ENTITY = /&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;

function checkText(text: string, where: string): void {
  assert.ok(!text.includes('<'), `raw '<' in ${where}`);
  assert.ok(!text.replace(ENTITY, '').includes('&'), `bad entity in ${where}: ${text.slice(0, 60)}`);
}

export function assertWellFormedXml(xml: string): void {
  const tokens = xml.match(/<[^>]*>|[^<]+/g) ?? [];
  assert.equal(tokens.join(''), xml, 'tokenizer must cover the whole input');
  const stack: string[] = [];
  let roots = 0;
  for (const tok of tokens) {
    if (!tok.startsWith('<')) {
      if (stack.length === 0) assert.equal(tok.trim(), '', 'text outside root element');
      checkText(tok, 'text');
      continue;
    }
    const close = /^<\/([A-Za-z][\w:.-]*)\s*>$/.exec(tok);
    if (close) {
      const top = stack.pop();
      assert.equal(close[1], top, `mismatched close tag ${tok}`);
      continue;
    }
    const open = /^<([A-Za-z][\w:.-]*)((?:\s+[A-Za-z_:][\w:.-]*\s*=\s*"[^"]*")*)\s*(\/?)>$/.exec(tok);
    assert.ok(open, `malformed tag: ${tok.slice(0, 80)}`);
    const [, name, attrs, selfClose] = open;
    const seen = new Set<string>();
    for (const m of attrs!.matchAll(/([A-Za-z_:][\w:.-]*)\s*=\s*"([^"]*)"/g)) {
      assert.ok(!seen.has(m[1]!), `duplicate attribute ${m[1]} in ${tok.slice(0, 60)}`);
      seen.add(m[1]!);
      checkText(m[2]!, `attribute ${m[1]}`);
    }
    if (stack.length === 0) roots++;
    if (!selfClose) stack.push(name!);
  }
  assert.deepEqual(stack, [], 'unclosed tags');
  assert.equal(roots, 1, 'exactly one root element');
}

/** Loose HTML5 check: doctype first, balanced non-void elements, svg islands well-formed XML. */
export function assertBalancedHtml(html: string): void {
  assert.match(html, /^<!DOCTYPE html>\n<html lang="en">/);
  const VOID = new Set(['meta', 'br', 'hr', 'img', 'input', 'link']);
  const body = html.replace(/^<!DOCTYPE html>/, '').replace(/<style>[\s\S]*?<\/style>/, '<style></style>');
  const stack: string[] = [];
  for (const m of body.matchAll(/<(\/?)([A-Za-z][\w:-]*)[^>]*?(\/?)>/g)) {
    const [, slash, rawName, selfClose] = m;
    const name = rawName!.toLowerCase();
    if (slash) assert.equal(stack.pop(), name, `mismatched </${name}>`);
    else if (!VOID.has(name) && !selfClose) stack.push(name);
  }
  assert.deepEqual(stack, []);
  for (const svg of html.match(/<svg[\s\S]*?<\/svg>/g) ?? []) assertWellFormedXml(svg);
}

// ---------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------
export function pt(concurrency: number, throughput: number, p95Ms: number): PerfPoint {
  const us = p95Ms * 1000;
  return { concurrency, throughput, latencyUs: { avg: us * 0.7, p50: us * 0.6, p90: us * 0.9, p95: us, p99: us * 1.2 } };
}

export function variant(over: Partial<ReportVariant> = {}): ReportVariant {
  return {
    model: 'resnet50',
    variant: 'trt-fp16',
    instances: 2,
    maxBatchSize: 8,
    points: [pt(1, 100, 20), pt(2, 180, 35), pt(4, 300, 60), pt(8, 380, 110)],
    sla: { latencyMs: 100, percentile: 95, minThroughput: 150 },
    verdict: { passed: true, bestThroughput: 300, latencyMsAtBest: 60, reason: 'concurrency 4 meets the SLA' },
    baselineThroughput: 250,
    ...over,
  };
}

export const STAGES: ReportStage[] = [
  { name: 'validate-spec', status: 'completed', startedAt: '2024-05-01T10:00:00.000Z', endedAt: '2024-05-01T10:00:01.200Z', attempts: 1 },
  { name: 'helm-upgrade', status: 'completed', startedAt: '2024-05-01T10:00:01.200Z', endedAt: '2024-05-01T10:03:06.200Z', attempts: 2, detail: 'revision 7' },
  { name: 'perf-analyze', status: 'failed', startedAt: '2024-05-01T10:03:06.200Z', endedAt: '2024-05-01T10:04:00.000Z', detail: 'SLA missed' },
  { name: 'promote', status: 'skipped' },
  { name: 'rollback', status: 'pending', startedAt: '2024-05-01T10:04:00.000Z' },
];

export function report(over: Partial<RunReport> = {}): RunReport {
  return {
    title: 'Triton deploy report',
    workflowId: 'deploy-resnet50-abc',
    runId: 'run-123',
    target: 'gke/us-central1-a/nvidia-gcp-gke',
    release: 'triton-inference',
    revision: 7,
    repositoryVersion: 'gs://bucket/models@v12',
    outcome: 'succeeded',
    generatedAt: '2024-05-01T10:05:00.000Z',
    stages: STAGES,
    variants: [variant(), variant({ model: 'bert-large', variant: 'seq384', baselineThroughput: null })],
    simulated: false,
    notes: ['first note'],
    ...over,
  };
}

export function attr(tag: string, name: string): number {
  const m = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  assert.ok(m, `attribute ${name} missing in ${tag}`);
  return Number(m[1]);
}

export function findTag(svg: string, cls: string): string {
  const m = new RegExp(`<[a-z]+ class="${cls}"[^>]*>`).exec(svg);
  assert.ok(m, `no element with class ${cls}`);
  return m[0];
}


/**
 * The library's documented tick behaviour: ascending, evenly spaced values whose step is
 * 1, 2 or 5 × 10^k, all inside the scale's domain [d0, d1].
 */
export function assertNiceTicks(ticks: readonly number[], domain: readonly number[]): void {
  const [d0, d1] = domain as [number, number];
  assert.ok(ticks.length >= 2, `at least two ticks: ${ticks}`);
  assert.ok(ticks.every(Number.isFinite), `finite ticks: ${ticks}`);
  assert.ok(ticks.every((t) => t >= d0 - 1e-12 && t <= d1 + 1e-12), `ticks ${ticks} inside [${d0}, ${d1}]`);
  const step = ticks[1]! - ticks[0]!;
  assert.ok(step > 0, `ascending: ${ticks}`);
  for (let i = 1; i < ticks.length; i++) {
    assert.ok(Math.abs(ticks[i]! - ticks[i - 1]! - step) < step * 1e-9, `evenly spaced: ${ticks}`);
  }
  const mant = step / Math.pow(10, Math.floor(Math.log10(step) + 1e-9));
  assert.ok([1, 2, 5].some((m) => Math.abs(mant - m) < 1e-6), `step ${step} is 1, 2 or 5 × 10^k`);
}
