/**
 * Golden files: rendered text compared byte for byte with a file under test/fixtures/golden.
 * UPDATE_GOLDEN=1 (re)writes the files instead of comparing them.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const GOLDEN_DIR = fileURLToPath(new URL('../fixtures/golden', import.meta.url));
const SHOWN_DIR = 'test/fixtures/golden';
export const REFRESH_COMMAND = 'UPDATE_GOLDEN=1 node --import tsx --test test/unit/plan/golden.test.ts';
/** Files in the golden directory that are not goldens. */
const NOT_GOLDEN = new Set(['README.md']);

function updating(): boolean {
  return process.env['UPDATE_GOLDEN'] === '1';
}

function checkPath(relativePath: string): void {
  const normal = posix.normalize(relativePath);
  if (normal !== relativePath || relativePath.startsWith('/') || relativePath.startsWith('..') || NOT_GOLDEN.has(relativePath)) {
    throw new Error(`golden path "${relativePath}" must be a normalised path inside ${SHOWN_DIR}`);
  }
}

/** The first differing line, with a few lines of context from both sides. */
function firstDifference(expected: string, actual: string): string {
  const want = expected.split('\n');
  const got = actual.split('\n');
  let line = 0;
  while (line < want.length && line < got.length && want[line] === got[line]) line++;
  const from = Math.max(0, line - 2);
  const excerpt = (lines: string[], mark: string) =>
    lines
      .slice(from, line + 3)
      .map((text, i) => `  ${from + i === line ? mark : ' '} ${String(from + i + 1).padStart(4)} | ${text}`)
      .join('\n');
  return `first difference at line ${line + 1}:\n golden:\n${excerpt(want, '-')}\n rendered:\n${excerpt(got, '+')}`;
}

/** Compares `actualText` with test/fixtures/golden/<relativePath> (or writes it under UPDATE_GOLDEN=1). */
export function expectGolden(relativePath: string, actualText: string): void {
  checkPath(relativePath);
  const file = join(GOLDEN_DIR, ...relativePath.split('/'));
  const shown = `${SHOWN_DIR}/${relativePath}`;
  if (updating()) {
    if (!existsSync(file) || readFileSync(file, 'utf8') !== actualText) {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, actualText);
    }
    return;
  }
  if (!existsSync(file)) assert.fail(`golden file ${shown} is missing; create it with: ${REFRESH_COMMAND}`);
  const expected = readFileSync(file, 'utf8');
  if (expected !== actualText) {
    assert.fail(`${shown} differs from the rendered output; ${firstDifference(expected, actualText)}\nif the change is intended, refresh with: ${REFRESH_COMMAND} (and review the diff)`);
  }
}

/** Every golden file on disk, as paths relative to the golden directory with "/" separators, sorted. */
export function listGoldenFiles(): string[] {
  if (!existsSync(GOLDEN_DIR)) return [];
  return readdirSync(GOLDEN_DIR, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(GOLDEN_DIR, join(entry.parentPath, entry.name)).split(sep).join('/'))
    .filter((path) => !NOT_GOLDEN.has(path))
    .sort();
}

/** Fails on golden files that no test checks (an example or variant removed, a golden renamed). */
export function expectNoStaleGoldens(checked: Iterable<string>): void {
  const known = new Set(checked);
  const stale = listGoldenFiles().filter((path) => !known.has(path));
  if (stale.length > 0) {
    assert.fail(`${stale.length} golden file(s) that no test checks; delete them if their example or variant is gone:\n${stale.map((p) => `  ${SHOWN_DIR}/${p}`).join('\n')}`);
  }
}
