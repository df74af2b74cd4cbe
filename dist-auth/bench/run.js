// npm run bench: floe's speed next to the floor it cannot beat, measured in the same run.
// Timings live here, never in tests. FLOE_BENCH_N sets the sample size (default 40).
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createLogger } from '../src/host/logger.js';
import { startHost } from '../src/host/host.js';
import { row, summarize } from './stats.js';
const N = Number(process.env.FLOE_BENCH_N ?? 40);
const CHAIN = 20;
function spawnTrue() {
    const t0 = performance.now();
    return new Promise((resolve, reject) => {
        const p = spawn('/bin/true', [], { stdio: 'ignore' });
        p.once('error', reject);
        p.once('exit', () => resolve(performance.now() - t0));
    });
}
async function floor() {
    for (let i = 0; i < 5; i++)
        await spawnTrue(); // warm up
    const out = [];
    for (let i = 0; i < N; i++)
        out.push(await spawnTrue());
    return out;
}
function chainYaml() {
    const tasks = Array.from({ length: CHAIN }, (_, i) => {
        const listen = i === 0 ? 'trigger.good' : `task.t${i - 1}.good`;
        return `      - { id: t${i}, listen: ${listen}, type: exec, opts: { cmd: 'true' } }`;
    });
    return `
common: { store-type: local }
flows:
  - id: one
    triggers: [{ name: start, type: data }]
    tasks:
      - { id: t0, listen: trigger.good, type: exec, opts: { cmd: 'true' } }
  - id: chain
    triggers: [{ name: start, type: data }]
    tasks:
${tasks.join('\n')}
      - { id: done, listen: task.t${CHAIN - 1}.good, type: end }
`;
}
async function main() {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'floe-bench-'));
    try {
        await writeFile(path.join(dir, 'floe.yml'), chainYaml());
        const host = await startHost({
            configFile: path.join(dir, 'floe.yml'),
            hostName: 'bench',
            tags: ['master'],
            log: createLogger({ level: 'silent', pretty: false }),
        });
        const hub = host.hub;
        const floorMs = summarize(await floor());
        // trigger -> first task start: from the trigger call to the task's process having run.
        const toStart = [];
        const toNodeStart = [];
        for (let i = 0; i < N + 5; i++) {
            const t0 = performance.now();
            let started = 0;
            const done = new Promise((resolve) => {
                const off = hub.subscribe((e) => {
                    if (e.kind === 'node-start')
                        started = performance.now();
                    if (e.kind === 'end') {
                        off();
                        resolve();
                    }
                });
            });
            await hub.trigger('one');
            await done;
            const ended = performance.now();
            if (i >= 5) {
                toNodeStart.push(started - t0);
                toStart.push(ended - t0);
            }
        }
        // per-task overhead: a 20-task chain of `true`, divided by its length.
        const perTask = [];
        for (let i = 0; i < Math.max(5, Math.floor(N / 4)); i++) {
            const done = new Promise((resolve) => {
                const off = hub.subscribe((e) => {
                    if (e.kind === 'end') {
                        off();
                        resolve();
                    }
                });
            });
            const t0 = performance.now();
            await hub.trigger('chain');
            await done;
            perTask.push((performance.now() - t0) / (CHAIN + 1));
        }
        await host.stop();
        const out = [
            `floe bench (node ${process.version}, ${os.cpus().length} cpus, local store, N=${N})`,
            row('floor: node spawns /bin/true', floorMs),
            row('trigger -> first task started (hub only)', summarize(toNodeStart)),
            row('trigger -> one-task run of `true` archived', summarize(toStart), floorMs),
            row(`per task, ${CHAIN}-task chain of \`true\``, summarize(perTask), floorMs),
        ];
        process.stdout.write(`${out.join('\n')}\n`);
    }
    finally {
        await rm(dir, { recursive: true, force: true });
    }
}
await main();
//# sourceMappingURL=run.js.map