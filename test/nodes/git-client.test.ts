import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gitClient } from '../../src/nodes/git-client.js';

test("git's stderr keeps a multi-byte character whole where the pipe splits it between chunks", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'floe-git-client-'));
  try {
    const lines: string[] = [];
    const git = gitClient(dir, { env: {}, onLine: (l) => lines.push(l) });
    await git.init();
    // git cuts its own messages at 4 KiB, but a hook's stderr passes through whole: 120,000
    // bytes of 3-byte characters cross a 64 KiB pipe read, and 65,536 is not a multiple of 3.
    const hook = path.join(dir, '.git', 'hooks', 'pre-commit');
    await writeFile(hook, "#!/bin/sh\nyes '€' | head -n 40000 | tr -d '\\n' >&2\necho >&2\n");
    await chmod(hook, 0o755);
    await git.raw(['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '--allow-empty', '-q', '-m', 'x']);
    const long = lines.find((l) => l.startsWith('€€€'));
    assert.ok(long, 'the hook output is in the lines');
    assert.ok(!lines.join('').includes('\uFFFD'), 'no character was cut into replacement characters');
    assert.equal(lines.join('').replace(/[^€]/g, '').length, 40_000);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
