import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { call } from './harness.js';
import { firstItem } from '../items.js';

const bin = fileURLToPath(new URL('../../../bin/floe.js', import.meta.url));
const CONFIG = `flows:\n  - id: f\n    triggers: [{ name: start, type: data }]\n    tasks: [{ name: a, listen: trigger.good, type: end }]\n`;

/** Starts the CLI and resolves with the URLs it says it listens on, once it says the host started. */
async function startCli(dir: string, args: string[]): Promise<{ child: ChildProcess; urls: string[] }> {
  const child = spawn(process.execPath, [bin, '-conf=floe.yml', '-admin=tls-admin', ...args], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const urls: string[] = [];
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`host exited with ${code}`)));
    createInterface({ input: child.stdout }).on('line', (l) => {
      const rec = JSON.parse(l) as { msg: string };
      const listening = /^listening on (\S+)$/.exec(rec.msg)?.[1];
      if (listening !== undefined) urls.push(listening);
      if (rec.msg === 'host started') resolve();
    });
  });
  child.removeAllListeners('exit');
  return { child, urls };
}

function stop(child: ChildProcess): Promise<number | null> {
  child.kill('SIGTERM');
  return new Promise((r) => child.once('exit', r));
}

function httpsCall(
  url: string,
  ca: Buffer,
  method: string,
  body?: unknown,
): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method, ca, headers: { 'Content-Type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(JSON.stringify(body));
    req.end();
  });
}

test('TLS on pub_bind with a self-signed cert, plain HTTP on a separate prv_bind', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'floe-tls-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-nodes',
      '-newkey',
      'rsa:2048',
      '-keyout',
      'server.key',
      '-out',
      'server.crt',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { cwd: dir, stdio: 'ignore' },
  );
  await writeFile(path.join(dir, 'floe.yml'), CONFIG);
  const { child, urls } = await startCli(dir, [
    '-pub_bind=127.0.0.1:0',
    '-pub_cert=server.crt',
    '-pub_key=server.key',
    '-prv_bind=127.0.0.1:0',
  ]);
  t.after(() => child.kill('SIGKILL'));
  assert.equal(urls.length, 2, urls.join(' '));
  const [pub, prv] = urls;
  assert.ok(pub !== undefined && prv !== undefined);
  assert.match(pub, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.match(prv, /^http:\/\/127\.0\.0\.1:\d+$/);
  const ca = await readFile(path.join(dir, 'server.crt'));
  const health = await httpsCall(`${pub}/build/api/health`, ca, 'GET');
  assert.equal(health.status, 200);
  const login = await httpsCall(`${pub}/build/api/login`, ca, 'POST', { user: 'admin', password: 'tls-admin' });
  assert.equal(login.status, 200);
  const cookie = String(login.headers['set-cookie']);
  assert.match(cookie, /floe-sesh=/);
  assert.match(cookie, /secure/i, 'the session cookie is Secure under TLS');
  assert.match(cookie, /httponly/i);
  assert.match(cookie, /samesite=strict/i);
  const plain = await call(undefined, `${prv}/build/api/health`, 'GET');
  assert.equal(plain.status, 200);
  assert.equal(await stop(child), 0);
});

test('one server when pub_bind and prv_bind are the same; a port in use is a clear error', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'floe-bind-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, 'floe.yml'), CONFIG);
  const first = await startCli(dir, ['-pub_bind=127.0.0.1:0', '-host_name=a']);
  t.after(() => first.child.kill('SIGKILL'));
  assert.equal(first.urls.length, 1);
  const port = new URL(firstItem(first.urls)).port;
  const same = `127.0.0.1:${port}`;
  const clash = spawn(process.execPath, [bin, '-conf=floe.yml', '-admin=x', '-host_name=b', `-pub_bind=${same}`, `-prv_bind=${same}`], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  clash.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((r) => clash.once('exit', r));
  assert.equal(code, 1);
  assert.match(stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: address already in use`));
  assert.equal(await stop(first.child), 0);
  const again = await startCli(dir, [`-pub_bind=${same}`, `-prv_bind=${same}`, '-host_name=c']);
  t.after(() => again.child.kill('SIGKILL'));
  assert.deepEqual(again.urls, [`http://${same}`], 'equal binds share one server');
  assert.equal(await stop(again.child), 0);
});
