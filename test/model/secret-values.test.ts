import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SECRET_SHOWN, secretFieldIds, shownRecord, shownTrigger, shownValues } from '../../src/model/secret-values.js';
import type { RunRecord } from '../../src/model/run.js';

test('only the values named secret are hidden; with none to hide the values come back as they were', () => {
  const values = { token: 't0k', who: 'ann' };
  assert.deepEqual(shownValues(values, ['token', 'absent']), { token: SECRET_SHOWN, who: 'ann' });
  assert.equal(shownValues(values, undefined), values);
  assert.equal(shownValues(values, ['absent']), values);
  assert.deepEqual(values, { token: 't0k', who: 'ann' }, 'the run keeps its values');
});

test("a peer's record whose list of secrets is no list of ids hides nothing and breaks nothing", () => {
  for (const secret of ['token', 7, null, { token: true }, [7, null]]) {
    assert.deepEqual(shownValues({ token: 't' }, secret as never), { token: 't' }, JSON.stringify(secret));
  }
});

test('secret field ids come from the form; a summary leaves the list of them out', () => {
  assert.deepEqual(
    secretFieldIds({
      title: 't',
      fields: [
        { id: 'a', prompt: 'A', type: 'text', secret: true },
        { id: 'b', prompt: 'B', type: 'text' },
      ],
    }),
    ['a'],
  );
  assert.equal(secretFieldIds({ title: 't', fields: [] }), undefined);
  assert.equal(secretFieldIds(undefined), undefined);
  assert.deepEqual(shownTrigger({ id: 's', type: 'data', values: { a: 'x', b: 'y' }, by: 'ann', secret: ['a'] }), {
    id: 's',
    type: 'data',
    values: { a: SECRET_SHOWN, b: 'y' },
    by: 'ann',
  });
});

test('a record shown to a peer hides trigger values and data answers of secret fields, and hiding twice changes nothing', () => {
  const r: RunRecord = {
    ref: { flowRef: { id: 'f', ver: 1 }, run: 'h1-1' },
    adoptedBy: 'h1',
    status: 'running',
    createdAt: 1,
    trigger: { id: 's', type: 'data', values: { token: 'x', who: 'ann' }, secret: ['token'] },
    nodes: {
      ask: {
        id: 'ask',
        status: 'good',
        startTime: 2,
        attempts: 1,
        form: { title: 'Code', fields: [{ id: 'code', prompt: 'Code', type: 'text', secret: true }] },
        values: { code: 'y' },
      },
      build: { id: 'build', status: 'running', startTime: 2, attempts: 1 },
    },
  };
  const shown = shownRecord(r);
  assert.deepEqual(shown.trigger.values, { token: SECRET_SHOWN, who: 'ann' });
  assert.deepEqual(shown.nodes.ask?.values, { code: SECRET_SHOWN });
  assert.deepEqual(shown.nodes.build, r.nodes.build);
  assert.deepEqual(shownRecord(shown), shown);
  assert.deepEqual([r.trigger.values.token, r.nodes.ask?.values?.code], ['x', 'y'], 'the record itself is not changed');
});
