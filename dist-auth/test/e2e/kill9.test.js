import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startRealHost, tempDir } from './harness.js';
import { isAlive, waitGone } from './proc.js';
const bin = fileURLToPath(new URL('../../../bin/floe.js', import.meta.url));
test('a host killed with -9 mid-run comes back with its pends, archives the interrupted run bad, and kills its leftovers', async (t) => {
    const dir = await tempDir('floe-kill9-');
    t.after(() => rm(dir, { recursive: true, force: true }));
    const fast = path.join(dir, 'fast');
    const yaml = `
common:
  store-type: local
flows:
  - id: slow
    resource-tags: [lock]
    env: [FAST=${fast}]
    triggers: [{ name: tick, type: timer, opts: { period: 0.2 } }]
    tasks:
      - { name: work, listen: trigger.good, type: exec, opts: { shell: 'echo $$ > "$FLOE_WS/pid"; test -f "$FAST" || sleep 60' } }
`;
    await writeFile(path.join(dir, 'floe.yml'), yaml);
    const child = spawn(process.execPath, [bin, '-conf', path.join(dir, 'floe.yml'), '-host_name=h1', '--tags', 'master', '-pub_bind=127.0.0.1:0', '-admin=kill9-token'], {
        cwd: dir,
        stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(() => child.kill('SIGKILL'));
    const pending = new Set();
    let started;
    let ws;
    await new Promise((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`host exited early with ${code}`)));
        createInterface({ input: child.stdout }).on('line', (line) => {
            const rec = JSON.parse(line);
            if (rec.msg === 'run pending' && rec.run)
                pending.add(rec.run);
            if (rec.msg === 'run started' && rec.run) {
                started = rec.run;
                ws = rec.workspace;
                pending.delete(rec.run);
            }
            if (started && pending.size >= 2 && ws && existsSync(path.join(ws, 'pid')))
                resolve();
        });
    });
    const shellPid = Number(await readFile(path.join(ws, 'pid'), 'utf8'));
    assert.ok(isAlive(shellPid));
    const acknowledged = [...pending];
    child.removeAllListeners('exit');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    assert.ok(isAlive(shellPid), 'the task outlives the killed host (own process group)');
    await writeFile(fast, '');
    const h = await startRealHost(yaml, { dir, keepDir: true });
    t.after(() => h.close());
    const crashed = await h.host.hub.findRun(started);
    assert.equal(crashed?.status, 'bad');
    assert.equal(crashed?.reason, 'host stopped during the run');
    assert.ok(await waitGone(shellPid), 'the restart killed the interrupted task');
    for (const run of acknowledged) {
        const end = await h.ended(run);
        assert.equal(end.status, 'good', `pend ${run} ran after the restart`);
    }
    const archive = (await h.host.hub.listArchive({ limit: 1000 })).runs.map((r) => r.ref.run);
    assert.equal(new Set(archive).size, archive.length, 'no run archived twice');
    const highest = Math.max(...[started, ...acknowledged].map((r) => Number(r.split('-')[1])));
    await h.host.stop();
    const [next] = await startAgain(dir, yaml);
    assert.ok(Number(next.split('-')[1]) > highest, 'run numbers never repeat');
});
async function startAgain(dir, yaml) {
    const h = await startRealHost(yaml.replace('type: timer, opts: { period: 0.2 }', 'type: data'), { dir, keepDir: true });
    try {
        const refs = await h.host.hub.trigger('slow');
        await h.ended(refs[0].run);
        return refs.map((r) => r.run);
    }
    finally {
        await h.close();
    }
}
//# sourceMappingURL=kill9.test.js.map