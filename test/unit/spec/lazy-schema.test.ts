import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { lazySchema, withTransientSchemas } from '../../../src/spec/lazy-schema.js';

test('a lazy schema is built on its first use, once, and parses, composes and reports like the schema itself', () => {
  let builds = 0;
  const Port = lazySchema(() => {
    builds++;
    return z.number().int().min(1, { error: 'port must be at least 1' }).default(8000);
  });
  const Server = lazySchema(() => z.object({ port: Port }).strict());
  assert.equal(builds, 0, 'declaring costs nothing');
  assert.deepEqual(Server.parse({}), { port: 8000 });
  assert.equal(builds, 1);
  const failed = Server.safeParse({ port: 0, extra: true });
  assert.equal(failed.success, false);
  assert.deepEqual(failed.error!.issues.map((i) => i.message).sort(), ['Unrecognized key: "extra"', 'port must be at least 1'].sort());
  assert.ok(Server instanceof z.ZodObject && 'port' in Server.shape);
  assert.equal(builds, 1, 'built once');
});

test('schemas built inside withTransientSchemas are forgotten after it, and built again on their next use', () => {
  let builds = 0;
  const Name = lazySchema(() => {
    builds++;
    return z.string().min(1);
  });
  const Kept = lazySchema(() => z.number());
  assert.equal(Kept.parse(1), 1);
  const parsed = withTransientSchemas(() => [Name.parse('a'), Name.parse('b'), Kept.parse(2)]);
  assert.deepEqual(parsed, ['a', 'b', 2]);
  assert.equal(builds, 1, 'built once inside');
  assert.equal(Name.parse('c'), 'c');
  assert.equal(builds, 2, 'built again after');
  withTransientSchemas(() => Name.parse('d'));
  assert.equal(builds, 2, 'one built before is kept');

  let otherBuilds = 0;
  const Other = lazySchema(() => {
    otherBuilds++;
    return z.string().min(1);
  });
  assert.throws(() => withTransientSchemas(() => Other.parse('')));
  Other.parse('e');
  assert.equal(otherBuilds, 2, 'forgotten even when the parse throws');
});
