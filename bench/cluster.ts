import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { getJson } from './api-client.js';
import { runsPerSecond } from './back-to-back.js';
import { makeTempDir, removeTempDir } from './cleanup.js';
import { freePort, startCliHost, type CliHost } from './cli-host.js';
import { EventTap } from './event-tap.js';
import { spawnRate } from './floors.js';
import { pick, TOKEN, type BenchContext, type Group } from './group.js';
import { makeRow, type Row } from './row.js';
import { summarize } from './stats.js';
import { againstShDate, DATE_TASK, triggerRow, triggerToFirstInstruction } from './trigger-latency.js';

/*
 * Three CLI hosts on loopback, one config listing all three: a trigger on h1 of a flow only h2
 * can run -> that task's first instruction on h2; then one-task runs sent round robin to all
 * three, runs per second.
 */

interface Member {
  host: CliHost;
  tap: EventTap;
}

/** Resolves once every host sees all of them online (heartbeats every 500 ms). */
async function clusterFormed(hosts: readonly CliHost[]): Promise<void> {
  const t0 = performance.now();
  for (;;) {
    const views = await Promise.all(
      hosts.map((h) => getJson(`${h.api}/hosts`, TOKEN) as Promise<{ payload: { hosts: Array<{ online: boolean }> } }>),
    );
    if (views.every((v) => v.payload.hosts.length === hosts.length && v.payload.hosts.every((x) => x.online))) return;
    if (performance.now() - t0 > 30_000) throw new Error('the three hosts did not all see each other online within 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const cluster: Group = {
  id: 'cluster',
  rows: [
    { id: 'trigger-cluster', measure: 'trigger on h1 -> task start on h2' },
    { id: 'runs-cluster', measure: 'runs back to back over three hosts' },
  ],
  async run(ctx: BenchContext): Promise<Row[]> {
    const rounds = pick(ctx, 40, 5);
    const runs = pick(ctx, 1000, 40);
    const dir = await makeTempDir('cluster');
    const hosts: CliHost[] = [];
    const members: Member[] = [];
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
          `    tasks: ${DATE_TASK}`,
          '  - id: any',
          '    triggers: [{ name: start, type: data }]',
          "    tasks: [{ id: t0, listen: trigger.good, type: exec, opts: { cmd: 'true' } }]",
          '',
        ].join('\n'),
      );
      ctx.say('cluster: starting three hosts');
      const started = await Promise.allSettled(
        ['h1', 'h2', 'h3'].map((name, i) =>
          startCliHost({ dir, name, tags: name === 'h2' ? 'linux,only-h2' : 'linux', bind: `127.0.0.1:${ports[i]}`, token: TOKEN }),
        ),
      );
      hosts.push(...started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : [])));
      const failed = started.find((s) => s.status === 'rejected');
      if (failed) throw failed.reason;
      for (const h of hosts)
        members.push({ host: h, tap: await EventTap.connect(h.ws, TOKEN, { host: h.name, firstLines: h.name === 'h2' }) });
      await clusterFormed(hosts);
      const [h1, h2] = members as [Member, Member, Member];

      ctx.say(`trigger-cluster: ${rounds} triggers on h1 run on h2, each beside a floor`);
      const latency = await againstShDate(pick(ctx, 5, 2), rounds, () => triggerToFirstInstruction(h1.host.api, 'remote', h2.tap));

      ctx.say(`runs-cluster: ${runs} one-task runs over three hosts, between two floors`);
      const floors: number[] = [await spawnRate(runs, 8)];
      const rate = await runsPerSecond(
        members.map((m) => ({ api: m.host.api, tap: m.tap })),
        'any',
        runs,
      );
      floors.push(await spawnRate(runs, 8));
      return [
        triggerRow('trigger-cluster', 'trigger on h1 -> task start on h2 (loopback)', latency, 1.5),
        makeRow({
          id: 'runs-cluster',
          measure: `${runs.toLocaleString('en')} runs back to back over three hosts, local store`,
          unit: 'runs/s',
          value: rate,
          floor: summarize(floors).median,
          floorWhat: 'node spawns /bin/true, 8 at once: spawns/s',
          target: 'info',
          atTargetScale: runs === 1000,
          n: 1,
        }),
      ];
    } finally {
      for (const m of members) m.tap.close();
      await Promise.all(hosts.map((h) => h.stop()));
      await removeTempDir(dir);
    }
  },
};
