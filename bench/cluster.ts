// npm run bench (part 3): the cluster. Three CLI hosts on one config listing all three:
// a trigger on h1 -> its task starting on h2 (a flow only h2 can run), each sample beside a
// floor sample (node spawning `sh -c date`), interleaved; and runs per second over three hosts.
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
import { row, summarize } from './stats.js';

const N = Number(process.env.FLOE_BENCH_N ?? 40);
const RUNS = Number(process.env.FLOE_BENCH_CLUSTER_RUNS ?? 300);
const TOKEN = 'bench-cluster-token';
const bin = fileURLToPath(new URL('../../bin/floe.js', import.meta.url));
const agent = new Agent({ keepAlive: true, maxSockets: 16 });

interface BenchHost {
  name: string;
  url: string;
  child: ChildProcess;
  ws: WebSocket;
  on: (kind: string, fn: (e: { kind: string; ref?: { run: string } }) => void) => void;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function post(url: string, body: unknown): Promise<{ status: number; text: string }> {
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'X-Floe-Auth': TOKEN } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

async function trigger(h: BenchHost, flow: string): Promise<void> {
  const res = await post(`${h.url}/build/api/push/data`, { ref: { id: flow, ver: 1 }, form: { id: 'start', values: {} } });
  if (res.status !== 200) throw new Error(`${h.name} push/data answered ${res.status}: ${res.text}`);
}

async function startHost(dir: string, name: string, port: number, tags: string): Promise<BenchHost> {
  const child = spawn(
    process.execPath,
    [bin, '-conf=floe.yml', `-host_name=${name}`, `-tags=${tags}`, `-pub_bind=127.0.0.1:${port}`, `-root=ws-${name}`],
    {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, FLOE_ADMIN: TOKEN },
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (c) => reject(new Error(`host ${name} exited ${c}`)));
    createInterface({ input: child.stdout }).on('line', (l) => {
      const listening = /^listening on (\S+)$/.exec((JSON.parse(l) as { msg: string }).msg)?.[1];
      if (listening !== undefined) resolve(listening);
    });
  });
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/build/api/ws`, { headers: { 'X-Floe-Auth': TOKEN } });
  await new Promise<void>((r, j) => {
    ws.once('open', () => r());
    ws.once('error', j);
  });
  const handlers = new Map<string, Array<(e: { kind: string; ref?: { run: string } }) => void>>();
  ws.on('message', (data) => {
    const f = JSON.parse(String(data)) as { type: string; event?: { kind: string; host?: string; ref?: { run: string } } };
    // Only this host's own events: a host may also relay its peers'.
    if (f.type !== 'event' || !f.event || (f.event.host !== undefined && f.event.host !== name)) return;
    for (const fn of handlers.get(f.event.kind) ?? []) fn(f.event);
  });
  return {
    name,
    url,
    child,
    ws,
    on: (kind, fn) => handlers.set(kind, [...(handlers.get(kind) ?? []), fn]),
  };
}

function spawnDate(): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const p = spawn('sh', ['-c', 'date'], { stdio: 'ignore' });
    p.once('error', reject);
    p.once('exit', () => resolve(performance.now() - t0));
  });
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'floe-bench-cluster-'));
  const hosts: BenchHost[] = [];
  try {
    const ports = [await freePort(), await freePort(), await freePort()];
    await writeFile(
      path.join(dir, 'floe.yml'),
      [
        'common:',
        '  store-type: local',
        `  hosts: [${ports.map((p) => `http://127.0.0.1:${p}`).join(', ')}]`,
        'flows:',
        '  - id: remote',
        '    host-tags: [only-h2]',
        '    triggers: [{ name: start, type: data }]',
        "    tasks: [{ id: t0, listen: trigger.good, type: exec, opts: { cmd: 'date' } }]",
        '  - id: any',
        '    triggers: [{ name: start, type: data }]',
        "    tasks: [{ id: t0, listen: trigger.good, type: exec, opts: { cmd: 'true' } }]",
        '',
      ].join('\n'),
    );
    const names = ['h1', 'h2', 'h3'];
    for (const [i, name] of names.entries())
      hosts.push(await startHost(dir, name, ports[i] ?? 0, name === 'h2' ? 'linux,only-h2' : 'linux'));
    const [h1, h2] = hosts as [BenchHost, BenchHost, BenchHost];
    // Let the hosts meet (heartbeats every 500 ms).
    await new Promise((r) => setTimeout(r, 1_500));

    let onStart: (() => void) | undefined;
    let onEnd: (() => void) | undefined;
    h2.on('node-start', () => onStart?.());
    h2.on('end', () => onEnd?.());
    const toStart: number[] = [];
    const floor: number[] = [];
    for (let i = 0; i < N + 5; i++) {
      const f = await spawnDate();
      const started = new Promise<number>((r) => (onStart = () => r(performance.now())));
      const ended = new Promise<void>((r) => (onEnd = () => r()));
      const t0 = performance.now();
      await trigger(h1, 'remote');
      const s = await started;
      await ended;
      if (i >= 5) {
        toStart.push(s - t0);
        floor.push(f);
      }
    }

    let ended = 0;
    let allEnded: (() => void) | undefined;
    for (const h of hosts)
      h.on('end', () => {
        if (++ended === RUNS) allEnded?.();
      });
    const done = new Promise<void>((r) => (allEnded = r));
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < RUNS) {
          const h = hosts[next++ % hosts.length] as BenchHost;
          await trigger(h, 'any');
        }
      }),
    );
    await done;
    const secs = (performance.now() - t0) / 1000;
    const floorS = summarize(floor);
    const lines = [
      `floe bench, cluster (3 CLI hosts on loopback, local store, N=${N})`,
      row('floor: node spawns sh -c date', floorS),
      row('trigger on h1 -> task started on h2 (ws)', summarize(toStart), floorS),
      `${`${RUNS} one-task runs over 3 hosts (8 clients)`.padEnd(44)} ${(RUNS / secs).toFixed(0)} runs/s (${secs.toFixed(2)} s)`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    for (const h of hosts) {
      h.ws.close();
      h.child.kill('SIGTERM');
    }
    await Promise.all(hosts.map((h) => new Promise((r) => (h.child.exitCode !== null ? r(null) : h.child.once('exit', r)))));
    agent.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
