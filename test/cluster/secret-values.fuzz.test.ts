import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { PeerReply, PeerRequest } from '../../src/cluster/messages.js';
import type { HubLog } from '../../src/hub/deps.js';
import { SECRET_SHOWN } from '../../src/model/secret-values.js';
import { flowDetail, flowListing, runDetail } from '../../src/server/routes/flow-view.js';
import { fuzzParams } from '../fuzz/settings.js';
import { firstItem } from '../items.js';
import { startCluster, type TestCluster } from './fakes.js';

// A secret form value reaches the run as given, and nothing a client, a peer asking for a view,
// or a log sees carries it: whatever its text, it shows as "(secret)".

const FLOWS = `
flows:
  - id: deploy
    host-tags: [gpu]
    triggers:
      - name: start
        type: data
        opts:
          form:
            title: Deploy
            fields:
              - { id: token, prompt: Token, type: text, secret: true, required: true }
              - { id: pin, prompt: PIN, type: int, secret: true }
              - { id: who, prompt: Who, type: text }
    tasks:
      - { name: use, listen: trigger.good, type: sim }
      - name: approve
        listen: task.use.good
        type: data
        opts: { form: { title: Approve, fields: [{ id: code, prompt: Code, type: text, secret: true }, { id: note, prompt: Note, type: text }] } }
      - { name: after, listen: task.approve.good, type: sim, opts: { hold: after } }
`;

/** Peer messages that feed views (run lists, run detail, live events, tags), as JSON. */
const VIEW_KINDS: ReadonlySet<string> = new Set(['runs', 'run', 'events', 'tags']);

/** Every text a client, a viewing peer or the log got, and a check that none holds `marker`. */
class Seen {
  readonly texts: Array<[where: string, text: string]> = [];

  add(where: string, v: unknown): void {
    this.texts.push([where, typeof v === 'string' ? v : JSON.stringify(v, errorsAsText)]);
  }

  assertHidden(marker: string): void {
    const escaped = JSON.stringify(marker).slice(1, -1);
    for (const [where, text] of this.texts) {
      assert.ok(!text.includes(marker) && !text.includes(escaped), `the secret shows in ${where}: ${text.slice(0, 300)}`);
    }
  }
}

function errorsAsText(_key: string, v: unknown): unknown {
  return v instanceof Error ? { message: v.message, stack: v.stack } : v;
}

function logInto(seen: Seen): HubLog {
  return {
    info: (obj, msg) => seen.add('the log', { obj, msg }),
    warn: (obj, msg) => seen.add('the log', { obj, msg }),
    error: (obj, msg) => seen.add('the log', { obj, msg }),
  };
}

/** Keeps what each hub answers to view requests, and the events it forwards, as they cross the network. */
function tapPeers(c: TestCluster, seen: Seen): void {
  for (const [name, t] of c.hubs) {
    const receive = t.hub.receivePeer.bind(t.hub);
    t.hub.receivePeer = async (req: PeerRequest): Promise<PeerReply> => {
      if (req.kind === 'events') seen.add(`events forwarded to ${name}`, req);
      const reply = await receive(req);
      if (VIEW_KINDS.has(req.kind)) seen.add(`${name}'s ${req.kind} reply`, reply);
      return reply;
    };
  }
}

async function stopAll(c: TestCluster): Promise<void> {
  for (const h of c.hubs.values())
    for (const r of [...h.hub.listPending(), ...h.hub.listActive()]) await h.hub.cancel(r.ref.run).catch(() => {});
  await c.stop();
}

/** Some text no other output holds by chance: any characters between two fixed ends. */
const marker = fc.string({ unit: 'binary', minLength: 1, maxLength: 16 }).map((s) => `zq${s}qz`);

test('a secret trigger value and data answer run as given and never show in lists, detail, events, peer views or the log', async () => {
  await fc.assert(
    fc.asyncProperty(marker, async (secret) => {
      const seen = new Seen();
      const c = await startCluster(FLOWS, [{ name: 'h1' }, { name: 'h2', tags: ['linux', 'gpu'] }], undefined, { log: logInto(seen) });
      try {
        tapPeers(c, seen);
        const [h1, h2] = [c.hub('h1'), c.hub('h2')];
        const unwatch = h1.hub.watch(); // h2 forwards its events to h1, as for a websocket client there
        await c.settle(100);
        const flow = h1.hub.findFlow('deploy');
        assert.ok(flow);

        const refused = await h1.hub.trigger('deploy', { values: { token: 't', pin: secret } }).then(
          () => assert.fail('a pin that is no integer is refused'),
          (err: Error) => err,
        );
        seen.add('the error for a bad value', refused.message);

        const ref = firstItem(await h1.hub.trigger('deploy', { values: { token: secret, pin: '+42', who: 'ann' }, by: 'alice' }));
        await c.until(() => h2.events.some((e) => e.kind === 'data-required' && e.ref.run === ref.run));
        assert.equal(c.sim.vars.get('use')?.token, secret, 'the task got the value as given');
        const at = await h1.hub.views.locate(ref.run);
        assert.ok(at);
        await h1.hub.views.answer(at, 'approve', { code: secret, note: 'fine' }, 'bob');
        await c.sim.whenHeld('after');
        assert.deepEqual(c.sim.vars.get('after')?.approve, { code: secret, note: 'fine' }, 'later tasks get the answer as given');
        assert.match(JSON.stringify(await h2.hub.findRun(ref.run)), /zq/, 'the run itself keeps the values');

        const running = await h1.hub.views.locate(ref.run);
        assert.ok(running);
        const detail = runDetail(running.record, flow, { lines: [] });
        seen.add('run detail on h1', detail);
        assert.equal(detail.trigger.values.token, SECRET_SHOWN);
        assert.equal(detail.trigger.values.pin, SECRET_SHOWN);
        assert.equal(detail.trigger.values.who, 'ann');
        assert.deepEqual(detail.nodes.find((n) => n.id === 'approve')?.values, { code: SECRET_SHOWN, note: 'fine' });
        seen.add('run detail on h2', runDetail((await h2.hub.findRun(ref.run))!, flow, { lines: [] }));
        seen.add('run lists while it runs', await h1.hub.views.listRuns({ flow: 'deploy', limit: 10 }));
        seen.add('GET /flows', [flowListing(flow), flowDetail(flow)]);

        c.sim.release('after');
        await h2.ended(ref.run);
        seen.add('run lists once it ended', await h1.hub.views.listRuns({ flow: 'deploy', limit: 10 }));
        const ended = await h1.hub.views.locate(ref.run);
        assert.ok(ended);
        seen.add('run detail once it ended', runDetail(ended.record, flow, { lines: [] }));

        const again = firstItem(await h1.hub.views.rerun(ended, 'dave'));
        await c.until(() => h2.events.some((e) => e.kind === 'data-required' && e.ref.run === again.run));
        assert.equal((await h2.hub.findRun(again.run))?.trigger.values.token, secret, 'a rerun uses the real value');
        assert.equal(c.sim.vars.get('use')?.token, secret);
        seen.add('run lists with the rerun', await h1.hub.views.listRuns({ flow: 'deploy', limit: 10 }));
        seen.add('tags', await h1.hub.clusterTags());
        await h1.hub.cancel(again.run).catch(() => h2.hub.cancel(again.run));
        await c.settle(100);
        unwatch();

        assert.ok(
          h1.events.some((e) => e.kind === 'add-pend' && e.host === 'h2'),
          "h1 heard h2's events, so forwarded events were looked at",
        );
        for (const [name, t] of c.hubs) seen.add(`events published on ${name}`, t.events);
        seen.assertHidden(secret);
      } finally {
        await stopAll(c);
      }
    }),
    fuzzParams(16),
  );
});
