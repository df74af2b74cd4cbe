import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readAdminToken } from '../../src/cli/admin-token.js';
import { FlagError } from '../../src/cli/flags.js';

const noWarning = (message: string) => assert.fail(`unexpected warning: ${message}`);

test('FLOE_ADMIN is the token and is taken out of the environment it came from', async () => {
  const env: NodeJS.ProcessEnv = { FLOE_ADMIN: 's3cret', PATH: '/bin' };
  assert.deepEqual(await readAdminToken({}, env, noWarning), { token: 's3cret', source: 'FLOE_ADMIN' });
  assert.deepEqual(env, { PATH: '/bin' });
});

test('FLOE_ADMIN is taken out of the environment even when it conflicts or is empty', async () => {
  const env: NodeJS.ProcessEnv = { FLOE_ADMIN: 's3cret' };
  await assert.rejects(readAdminToken({ admin: 'flag' }, env, noWarning), FlagError);
  assert.equal('FLOE_ADMIN' in env, false);
  const empty: NodeJS.ProcessEnv = { FLOE_ADMIN: '' };
  assert.equal(await readAdminToken({}, empty, noWarning), undefined, 'empty is not given');
  assert.equal('FLOE_ADMIN' in empty, false);
});

test('-admin, and nothing at all', async () => {
  assert.deepEqual(await readAdminToken({ admin: 'flag' }, {}, noWarning), { token: 'flag', source: '-admin' });
  assert.equal(await readAdminToken({}, {}, noWarning), undefined);
});

test('-admin_file: the first line trimmed (CRLF too); mode 0600 is not warned about; a line past 4 KiB is refused', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'floe-admin-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'token');
  await writeFile(file, '\tfrom-file \r\nnext\r\n', { mode: 0o600 });
  assert.deepEqual(await readAdminToken({ admin_file: file }, {}, noWarning), { token: 'from-file', source: '-admin_file' });
  const long = path.join(dir, 'long');
  await writeFile(long, 'x'.repeat(5000), { mode: 0o600 });
  await assert.rejects(readAdminToken({ admin_file: long }, {}, noWarning), /the first line of .*long is over 4096 bytes/);
});
