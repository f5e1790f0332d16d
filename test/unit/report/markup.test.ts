import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { escapeHtml, fmtCoord } from '../../../src/report/markup.js';

describe('escapeHtml', () => {
  it('escapes markup and quotes', () => {
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});

describe('fmtCoord', () => {
  it('rounds to two decimals and never prints -0, NaN or Infinity', () => {
    assert.equal(fmtCoord(525.3333), '525.33');
    assert.equal(fmtCoord(209), '209');
    assert.equal(fmtCoord(-0.001), '0');
    assert.equal(fmtCoord(NaN), '0');
    assert.equal(fmtCoord(Infinity), '0');
  });
});
