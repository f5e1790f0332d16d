import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { z } from 'zod';
import { lazySchema } from '../../../src/spec/lazy-schema.js';

test('a lazy schema is built on its first use, once, and parses, composes and reports like the schema itself', () => {
  let builds = 0;
  const Port = lazySchema('test.Port', () => {
    builds++;
    return z.number().int().min(1, { error: 'port must be at least 1' }).default(8000);
  });
  const Server = lazySchema('test.Server', () => z.object({ port: Port }).strict());
  assert.equal(builds, 0, 'declaring costs nothing');
  assert.deepEqual(Server.parse({}), { port: 8000 });
  assert.equal(builds, 1);
  const failed = Server.safeParse({ port: 0, extra: true });
  assert.equal(failed.success, false);
  assert.deepEqual(failed.error!.issues.map((i) => i.message).sort(), ['Unrecognized key: "extra"', 'port must be at least 1'].sort());
  assert.ok(Server instanceof z.ZodObject && 'port' in Server.shape);
  assert.equal(builds, 1, 'built once');
});

test("a schema module evaluated again (a workflow run's) parses with the schema its first evaluation built, and builds nothing", () => {
  const builds: string[] = [];
  const evaluateModule = (run: string) => ({
    Name: lazySchema('test.Name', () => {
      builds.push(run);
      return z.string().min(1, { error: 'a name is required' });
    }),
  });
  const first = evaluateModule('first');
  assert.equal(first.Name.parse('a'), 'a');
  const second = evaluateModule('second');
  assert.equal(second.Name.parse('b'), 'b');
  assert.equal(second.Name.safeParse('').error?.issues[0]?.message, 'a name is required');
  assert.deepEqual(builds, ['first']);
  // A schema whose build throws is not kept: the next use builds it again.
  let attempts = 0;
  const Broken = lazySchema('test.Broken', (): z.ZodString => {
    attempts++;
    throw new Error('cannot build');
  });
  assert.throws(() => Broken.parse('x'), /cannot build/);
  assert.throws(() => Broken.parse('x'), /cannot build/);
  assert.equal(attempts, 2);
});

test('every lazy schema of the source is kept under its own constant name: two under one name would parse with each other', async () => {
  const names: string[] = [];
  for (const entry of await readdir(new URL('../../../src', import.meta.url), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const source = await readFile(`${entry.parentPath}/${entry.name}`, 'utf8');
    for (const [, constant, name] of source.matchAll(/const (\w+) = lazySchema\('([^']*)'/g)) {
      assert.equal(name, constant, `${entry.name}: ${constant} is kept under "${name}"`);
      names.push(name!);
    }
  }
  assert.ok(names.length > 20, `found ${names.length}`);
  assert.deepEqual(names.filter((name, i) => names.indexOf(name) !== i), []);
});
