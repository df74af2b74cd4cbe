// npm run bench (part 2): trigger -> first task start through POST /push/data on a host started
// by the CLI, next to one loopback HTTP round trip and the spawn floor, all in the same run.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { row, summarize, type Summary } from './stats.js';

const N = Number(process.env.FLOE_BENCH_N ?? 40);
const bin = fileURLToPath(new URL('../../bin/floe.js', import.meta.url));
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'Content-Type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

/** One loopback HTTP round trip with a JSON body, on a bare node:http server. */
async function loopbackFloor(): Promise<Summary> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('{"message":"ok","payload":null}'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const out: number[] = [];
  for (let i = 0; i < N + 5; i++) {
    const t0 = performance.now();
    await post(url, { ref: { id: 'x', ver: 1 } });
    if (i >= 5) out.push(performance.now() - t0);
  }
  await new Promise<void>((r) => server.close(() => r()));
  return summarize(out);
}

async function spawnFloor(): Promise<Summary> {
  const out: number[] = [];
  for (let i = 0; i < N + 5; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const p = spawn('/bin/true', [], { stdio: 'ignore' });
      p.once('error', reject);
      p.once('exit', () => resolve());
    });
    if (i >= 5) out.push(performance.now() - t0);
  }
  return summarize(out);
}

async function startHost(dir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [bin, '-conf=floe.yml', '-admin=bench', '-pub_bind=127.0.0.1:0'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (c) => reject(new Error(`host exited ${c}`)));
    createInterface({ input: child.stdout }).on('line', (l) => {
      const listening = /^listening on (\S+)$/.exec((JSON.parse(l) as { msg: string }).msg)?.[1];
      if (listening !== undefined) resolve(listening);
    });
  });
  return { child, url };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'floe-bench-http-'));
  try {
    await writeFile(
      path.join(dir, 'floe.yml'),
      `common: { store-type: local }\nflows:\n  - id: one\n    triggers: [{ name: start, type: data }]\n    tasks: [{ id: t0, listen: trigger.good, type: exec, opts: { cmd: 'true' } }]\n`,
    );
    const { child, url } = await startHost(dir);
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/build/api/ws`, { headers: { 'X-Floe-Auth': 'bench' } });
    await new Promise<void>((r, j) => {
      ws.once('open', () => r());
      ws.once('error', j);
    });
    let onStart: (() => void) | undefined;
    let onEnd: (() => void) | undefined;
    ws.on('message', (data) => {
      const f = JSON.parse(String(data)) as { type: string; event?: { kind: string } };
      if (f.type !== 'event') return;
      if (f.event?.kind === 'node-start') onStart?.();
      if (f.event?.kind === 'end') onEnd?.();
    });
    const toStart: number[] = [];
    const toAck: number[] = [];
    for (let i = 0; i < N + 5; i++) {
      const started = new Promise<number>((r) => (onStart = () => r(performance.now())));
      const ended = new Promise<void>((r) => (onEnd = () => r()));
      const t0 = performance.now();
      const res = await post(
        `${url}/build/api/push/data`,
        { ref: { id: 'one', ver: 1 }, form: { id: 'start', values: {} } },
        { 'X-Floe-Auth': 'bench' },
      );
      const acked = performance.now();
      if (res.status !== 200) throw new Error(`push/data answered ${res.status}: ${res.text}`);
      const s = await started;
      await ended;
      if (i >= 5) {
        toStart.push(s - t0);
        toAck.push(acked - t0);
      }
    }
    ws.close();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    const loop = await loopbackFloor();
    const spawnF = await spawnFloor();
    const lines = [
      `floe bench over HTTP (CLI host, local store, N=${N})`,
      row('floor: loopback HTTP round trip', loop),
      row('floor: node spawns /bin/true', spawnF),
      row('POST /push/data answered (pend persisted)', summarize(toAck), loop),
      row('POST /push/data -> first task started (ws)', summarize(toStart), loop),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    agent.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
