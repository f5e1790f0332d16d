import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderReportHtml } from '../../../src/report/page.js';
import { assertBalancedHtml, report, STAGES, variant } from '../../helpers/report.js';

describe('renderReportHtml', () => {
  it('is a balanced, self-contained HTML5 page with well-formed SVGs', () => {
    const html = renderReportHtml(report());
    assertBalancedHtml(html);
    assert.ok(html.includes('<meta charset="utf-8">'));
    assert.ok(!/\b(?:src|href)=/.test(html), 'no external resources');
    assert.ok(!/@import|url\(/.test(html), 'no external CSS');
    assert.ok(!html.includes('NaN'));
    assert.equal(html.match(/<svg /g)?.length, 3, 'timeline + one chart per variant');
  });

  it('keeps its sections in order: summary, stages, performance, notes', () => {
    const html = renderReportHtml(report());
    const headings = [...html.matchAll(/<h2>([^<]*)<\/h2>/g)].map((m) => m[1]);
    assert.deepEqual(headings, ['Summary', 'Stages', 'Performance', 'Notes']);
    assert.ok(html.indexOf('class="timeline"') > html.indexOf('<h2>Stages</h2>'));
    assert.ok(html.indexOf('class="chart"') > html.indexOf('<h2>Performance</h2>'));
    assert.ok(html.endsWith('</html>\n'));
  });

  it('has summary and stage tables', () => {
    const html = renderReportHtml(report({ outcome: 'rolled-back', failure: 'perf SLA missed' }));
    for (const s of ['gke/us-central1-a/nvidia-gcp-gke', 'triton-inference', '>7<', 'gs://bucket/models@v12', 'rolled-back', 'perf SLA missed']) {
      assert.ok(html.includes(s), s);
    }
    const stageTable = /<table class="stages">[\s\S]*?<\/table>/.exec(html)![0];
    assert.equal(stageTable.match(/<tr>/g)?.length, 1 + STAGES.length);
    assert.ok(stageTable.includes('3 m 05 s'));
    assert.ok(stageTable.includes('revision 7'));
    assert.ok(stageTable.includes('<td class="num">2</td>'), 'attempts');
    assert.ok(html.includes('class="timeline"'));
  });

  it('shows the simulator banner iff simulated', () => {
    const sim = renderReportHtml(report({ simulated: true }));
    const real = renderReportHtml(report({ simulated: false }));
    assert.ok(sim.includes('class="banner-simulated"'));
    assert.match(sim, /calibrated simulator, not from real GPUs/);
    assert.ok(!real.includes('banner-simulated"'));
    assert.ok(!real.includes('not from real GPUs'));
  });

  it('renders one section per variant with chart, point table, verdict and baseline', () => {
    const html = renderReportHtml(report());
    const sections = html.match(/<section class="variant"[\s\S]*?<\/section>/g) ?? [];
    assert.equal(sections.length, 2);
    const [first, second] = sections as [string, string];
    assert.ok(first.includes('resnet50') && first.includes('trt-fp16'));
    assert.ok(first.includes('<svg'));
    const rows = first.match(/<tbody>[\s\S]*?<\/tbody>/)![0].match(/<tr/g)!;
    assert.equal(rows.length, 4);
    assert.equal(first.match(/<tr class="within-sla">/g)?.length, 2);
    assert.ok(first.includes('PASSED'));
    assert.ok(first.includes('concurrency 4 meets the SLA'));
    assert.ok(first.includes('+20.0%'), 'best 300 vs baseline 250');
    // p50/p90/p95/p99 columns in ms: c=1 has p95 20 ms, p99 24 ms, p50 12 ms, p90 18 ms.
    assert.ok(first.includes('<td class="num">12</td><td class="num">18</td><td class="num">20</td><td class="num">24</td>'));
    assert.ok(second.includes('bert-large'));
    assert.ok(second.includes('No baseline available.'));
  });

  it('renders notes and empty states', () => {
    const html = renderReportHtml(report({ notes: [], variants: [], stages: [] }));
    assertBalancedHtml(html);
    assert.ok(html.includes('No notes.'));
    assert.ok(html.includes('No model variants'));
    assert.ok(html.includes('No stages recorded.'));
    const withNotes = renderReportHtml(report({ notes: ['a', 'b'] }));
    assert.ok(withNotes.includes('<ul class="notes"><li>a</li><li>b</li></ul>'));
  });

  it('never emits user text raw', () => {
    const evil = '<script>alert("x")</script>';
    const html = renderReportHtml(
      report({
        title: evil,
        target: evil,
        release: evil,
        repositoryVersion: evil,
        failure: evil,
        workflowId: evil,
        runId: evil,
        notes: [evil],
        stages: [{ name: evil, status: 'failed', detail: evil, startedAt: '2024-01-01T00:00:00Z', endedAt: '2024-01-01T00:00:01Z' }],
        variants: [variant({ model: evil, variant: evil, verdict: { passed: false, bestThroughput: null, latencyMsAtBest: null, reason: evil } })],
      }),
    );
    assert.ok(!html.includes('<script'));
    assert.ok(!html.includes('"x")'));
    assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'));
    assertBalancedHtml(html);
  });
});
