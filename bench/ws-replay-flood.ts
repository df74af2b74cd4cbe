// node dist/bench/ws-replay-flood.js: the websocket replay flood of the security review. A viewer
// that never reads sends many subscribes with a `since` inside the history; how long does
// GET /health wait meanwhile? The attacker and the /health prober run on their own thread, so
// the host's stalls are not the prober's. FLOE_BENCH_SCENARIO=lines|huge|both (default both).
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parentPort, Worker, workerData } from 'node:worker_threads';
import { WebSocket } from 'ws';
import { ADMIN, call, startApiHost, type ApiHost } from '../test/server/harness.js';

const FLOWS = `
flows:
  - id: lines
    triggers: [{ name: start, type: data }]
    tasks:
      - name: one
        listen: trigger.good
        type: exec
        opts: { shell: "awk 'BEGIN { s = sprintf(\\"%2000s\\", \\"\\"); gsub(/ /, \\"x\\", s); for (i = 0; i < 40000; i++) print i s }'" }
      - { name: done, listen: task.one.good, type: end }
  - id: huge
    triggers: [{ name: start, type: data }]
    tasks:
      - { name: one, listen: trigger.good, type: exec, opts: { shell: "head -c 30000000 /dev/zero | tr '\\\\0' x; echo" } }
      - { name: done, listen: task.one.good, type: end }
`;

interface Attack {
  ws: string;
  health: string;
  frames: number;
  since: number;
  /** How long to keep probing /health after the flood was sent. */
  probeMs: number;
}

interface AttackResult {
  /** [ms after the flood, latency ms] of each /health probe; latency -1: timed out at 20 s. */
  probes: Array<[number, number]>;
  closeCode: number | undefined;
  /** Frames read once the probing was over, by type. */
  frames: Record<string, number>;
}

async function attack(a: Attack): Promise<AttackResult> {
  const ws = new WebSocket(a.ws, { headers: { 'X-Floe-Auth': ADMIN } });
  await new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
  ws.pause();
  const frame = JSON.stringify({ type: 'subscribe', since: a.since });
  const t0 = performance.now();
  for (let i = 0; i < a.frames; i++) ws.send(frame);
  const probes: Array<[number, number]> = [];
  const inFlight: Array<Promise<void>> = [];
  while (performance.now() - t0 < a.probeMs) {
    const sent = performance.now();
    inFlight.push(
      Promise.race([
        call(undefined, a.health, 'GET').then(() => performance.now() - sent),
        new Promise<number>((r) => setTimeout(() => r(-1), 20_000)),
      ]).then((ms) => {
        probes.push([sent - t0, ms]);
      }),
    );
    await new Promise((r) => setTimeout(r, 100));
  }
  await Promise.all(inFlight);
  // Read what the server left: the frames, then its close frame (if it sent one).
  const frames: Record<string, number> = {};
  ws.on('message', (d) => {
    const type = /^\{"type":"([a-z]+)"/.exec(String(d).slice(0, 30))?.[1] ?? '?';
    frames[type] = (frames[type] ?? 0) + 1;
  });
  const closeCode = await new Promise<number | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), 10_000);
    ws.once('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    ws.resume();
  });
  ws.terminate();
  return { probes: probes.sort((x, y) => x[0] - y[0]), closeCode, frames };
}

function runAttack(a: Attack): Promise<AttackResult> {
  const w = new Worker(new URL(import.meta.url), { workerData: { attack: a } });
  return new Promise((resolve, reject) => {
    w.once('message', (r: AttackResult) => {
      void w.terminate();
      resolve(r);
    });
    w.once('error', reject);
  });
}

async function encoded(h: ApiHost): Promise<string> {
  const r = await h.call('GET', '/metrics');
  const lines = r.text.split('\n').filter((l) => /^floe_websocket_(events_encoded_total|dropped_total)/.test(l));
  return lines.join(', ') || 'no floe_websocket_events_encoded_total, no drops';
}

async function scenario(h: ApiHost, flow: string, frames: number, back: number): Promise<void> {
  const t0 = performance.now();
  const r = await h.call('POST', '/push/data', { ref: { id: flow, ver: 1 }, form: { id: 'start', values: {} } });
  const [run] = (r.body as { payload: { runs: string[] } }).payload.runs;
  if (run === undefined) throw new Error(`${flow}: the push started no run`);
  await h.ended(run);
  const last = h.real.host.hub.lastSeq();
  // The history is bounded in bytes too: ask for no more than it keeps, or the answer is a resync.
  while (back > 1 && !h.real.host.hub.eventsSince(last - back)) back = Math.floor(back * 0.95);
  console.log(`${flow}: run took ${((performance.now() - t0) / 1000).toFixed(1)} s; lastSeq ${last}; replaying ${back} events`);
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const res = await runAttack({ ws: `${h.api}/ws`, health: `${h.api}/health`, frames, since: last - back, probeMs: 30_000 });
  loop.disable();
  const lat = res.probes.map(([, ms]) => (ms < 0 ? 20_000 : ms));
  const slow = res.probes.filter(([, ms]) => ms < 0 || ms > 250);
  const median = [...lat].sort((x, y) => x - y)[Math.floor(lat.length / 2)];
  const stallEnd = slow.length === 0 ? 0 : Math.max(...slow.map(([at, ms]) => at + (ms < 0 ? 20_000 : ms)));
  console.log(
    `${flow}: ${frames} subscribes with since = lastSeq - ${back}: /health max ${res.probes.some(([, ms]) => ms < 0) ? 'timed out (20 s)' : `${Math.max(...lat).toFixed(0)} ms`}, ` +
      `median ${median === undefined ? '-' : median.toFixed(1)} ms, ${slow.length}/${lat.length} probes over 250 ms or timed out, ` +
      `stall over by ${(stallEnd / 1000).toFixed(1)} s; host's longest loop block ${(loop.max / 1e6).toFixed(0)} ms; ` +
      `close code ${res.closeCode ?? 'none within 10 s of reading'}; frames read ${JSON.stringify(res.frames)}; ${await encoded(h)}`,
  );
}

async function main(): Promise<void> {
  const which = process.env.FLOE_BENCH_SCENARIO ?? 'both';
  if (which === 'lines' || which === 'both') {
    const h = await startApiHost(FLOWS);
    try {
      await scenario(h, 'lines', 600, 9000);
    } finally {
      await h.close();
    }
  }
  if (which === 'huge' || which === 'both') {
    const h = await startApiHost(FLOWS);
    try {
      await scenario(h, 'huge', 300, 1000);
    } finally {
      await h.close();
    }
  }
}

const job = (workerData as { attack?: Attack } | null)?.attack;
if (parentPort && job) {
  const port = parentPort;
  void attack(job).then((r) => port.postMessage(r));
} else {
  await main();
}
