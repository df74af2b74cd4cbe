import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { WebSocket } from 'ws';
import { ADMIN, call, type Reply } from './harness.js';
import { startLoggedHost, type LoggedHost } from './logged-host.js';

// A secret form field through the real API: its value reaches the task as is (its sha256 is
// printed), and no answer, websocket frame or log line of the host carries it.

const YAML = `
flows:
  - id: deploy
    triggers:
      - name: start
        type: data
        opts:
          form:
            title: Deploy
            fields:
              - { id: token, prompt: Token, type: text, secret: true, required: true }
              - { id: pin, prompt: PIN, type: int, secret: true }
              - { id: who, prompt: Who, type: text, value: ann }
    tasks:
      - { name: use, listen: trigger.good, type: exec, opts: { shell: 'printf %s {{token}} | sha256sum' } }
      - name: approve
        listen: task.use.good
        type: data
        opts: { form: { title: Approve, fields: [{ id: code, prompt: Code, type: text, secret: true }] } }
      - { name: check, listen: task.approve.good, type: exec, opts: { shell: 'printf %s "$FLOE_TOKEN" {{approve.code}} | sha256sum' } }
      - { name: done, listen: task.check.good, type: end }
`;

type Payload = { message: string; payload: any };

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/** Polls the run until `done` holds (the websocket is what is under test here, not how the run is followed). */
async function until(get: () => Promise<Reply<Payload>>, done: (p: any) => boolean): Promise<any> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const r = await get();
    assert.equal(r.status, 200, r.text);
    if (done(r.body.payload)) return r.body.payload;
    if (Date.now() > deadline) assert.fail(`never got there; last: ${r.text.slice(0, 500)}`);
    await new Promise((res) => setTimeout(res, 25));
  }
}

test('a secret value runs as given and shows as (secret) in every answer, websocket event and log line', async (t) => {
  const h: LoggedHost = await startLoggedHost(YAML);
  const agent = new Agent({ keepAlive: false });
  const texts: Array<[string, string]> = [];
  const api = async (method: string, path: string, body?: unknown): Promise<Reply<Payload>> => {
    const r = await call<Payload>(agent, `${h.api}${path}`, method, body, { 'X-Floe-Auth': ADMIN });
    texts.push([`${method} ${path}`, r.text]);
    return r;
  };
  const ws = new WebSocket(`${h.api.replace(/^http/, 'ws')}/ws`, { headers: { 'X-Floe-Auth': ADMIN } });
  const frames: string[] = [];
  ws.on('message', (data) => frames.push(String(data)));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  t.after(async () => {
    ws.close();
    await h.close();
  });
  // Quotes, a `$` and a backtick: it must reach the shell as one value, unchanged.
  const secret = `zq it's "$HOME" \`id\` ${randomBytes(9).toString('base64url')} qz`;

  const flows = await api('GET', '/flows');
  assert.deepEqual(flows.body.payload.flows[0].triggers[0].form.fields, [
    { id: 'token', prompt: 'Token', type: 'text', required: true, secret: true },
    { id: 'pin', prompt: 'PIN', type: 'int', secret: true },
    { id: 'who', prompt: 'Who', type: 'text', value: 'ann' },
  ]);

  const bad = await api('POST', '/push/data', { ref: { id: 'deploy' }, form: { values: { token: 't', pin: secret } } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.message, 'bad values for trigger start of flow deploy: "pin" must be an integer, got (secret)');

  const started = await api('POST', '/push/data', { ref: { id: 'deploy' }, form: { values: { token: secret } } });
  assert.equal(started.status, 200, started.text);
  const run = started.body.payload.runs[0] as string;
  const waiting = await until(
    () => api('GET', `/flows/deploy/runs/${run}`),
    (d) => d.dataWaiting.length > 0,
  );
  assert.deepEqual(waiting.trigger.values, { token: '(secret)', who: 'ann' });
  const answered = await api('POST', '/push/data', { ref: { id: 'deploy' }, run, form: { id: 'approve', values: { code: secret } } });
  assert.equal(answered.status, 200, answered.text);

  const ended = await until(
    () => api('GET', `/flows/deploy/runs/${run}`),
    (d) => d.status !== 'running',
  );
  assert.equal(ended.status, 'good', JSON.stringify(ended));
  assert.deepEqual(
    ended.output.lines.map((l: { node: string; line: string }) => [l.node, l.line]),
    [
      ['use', `${sha256(secret)}  -`],
      ['check', `${sha256(secret + secret)}  -`],
    ],
    'the tasks got the values as given',
  );
  assert.deepEqual(ended.nodes.find((n: { id: string }) => n.id === 'approve').values, { code: '(secret)' });
  const listed = await api('GET', '/flows/deploy');
  assert.deepEqual(listed.body.payload.runs.archive[0].trigger.values, { token: '(secret)', who: 'ann' });

  const rerun = await api('POST', `/flows/deploy/runs/${run}/rerun`);
  assert.equal(rerun.status, 200, rerun.text);
  const again = rerun.body.payload.runs[0] as string;
  const second = await until(
    () => api('GET', `/flows/deploy/runs/${again}`),
    (d) => d.dataWaiting.length > 0,
  );
  assert.deepEqual(
    second.output.lines.map((l: { line: string }) => l.line),
    [`${sha256(secret)}  -`],
    'a rerun uses the real value',
  );
  assert.equal((await api('POST', `/flows/deploy/runs/${again}/cancel`)).status, 200);
  await until(
    () => api('GET', `/flows/deploy/runs/${again}`),
    (d) => d.status === 'cancelled',
  );

  const kinds = new Set(frames.map((f) => (JSON.parse(f) as { event?: { kind: string } }).event?.kind));
  for (const kind of ['trigger', 'add-pend', 'data-required', 'data-answered', 'end']) assert.ok(kinds.has(kind), `heard ${kind}`);
  const escaped = JSON.stringify(secret).slice(1, -1);
  const outputs: Array<[string, string]> = [
    ...texts,
    ...frames.map((f): [string, string] => ['a websocket frame', f]),
    ['the log', h.text()],
  ];
  for (const [where, text] of outputs) {
    assert.ok(!text.includes(secret) && !text.includes(escaped), `the secret shows in ${where}: ${text.slice(0, 300)}`);
  }
});
