import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { ADMIN, call } from './harness.js';
import { startLoggedHost, type LoggedHost } from './logged-host.js';

const FLOW = `
flows:
  - id: hello
    triggers: [{ name: start, type: data }]
    tasks: [{ name: done, listen: trigger.good, type: end }]
`;

let host: LoggedHost;

before(async () => {
  host = await startLoggedHost(FLOW);
});

after(async () => {
  await host?.close();
});

/**
 * Sends a chunked POST to `path` with `Expect: 100-continue`, so the server's "100 Continue"
 * says the route is already reading the body; then part of a chunk, then ends the connection
 * with `end` (a reset or a plain close).
 */
async function abortMidBody(path: string, end: (s: Socket) => void): Promise<void> {
  const { hostname, port, pathname } = new URL(host.api);
  const socket = connect(Number(port), hostname);
  await once(socket, 'connect');
  socket.on('error', () => {});
  socket.write(
    `POST ${pathname}${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nX-Floe-Auth: ${ADMIN}\r\n` +
      'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n',
  );
  await new Promise<void>((resolve) => {
    let seen = '';
    socket.on('data', (d: Buffer) => {
      seen += d.toString('latin1');
      if (seen.includes('100 Continue')) resolve();
    });
  });
  socket.write('400\r\n{"ref": {"id": "hel');
  end(socket);
}

for (const [how, end] of [
  ['reset', (s: Socket) => s.resetAndDestroy()],
  ['closed', (s: Socket) => s.destroy()],
] as const) {
  test(`a client whose connection is ${how} mid-body is logged at debug without a stack, never as an error, and the host still serves`, async () => {
    const before = host.entries.length;
    await abortMidBody('/push/data', end);
    const logged = await host.waitFor((e) => e.path === '/build/api/push/data' && host.entries.indexOf(e) >= before);
    const mine = host.entries.slice(before);
    assert.deepEqual(
      mine.filter((e) => e.level >= 50),
      [],
      'no error-level entry',
    );
    assert.equal(logged.level, 20, `logged at debug: ${JSON.stringify(logged)}`);
    assert.ok(!JSON.stringify(logged).includes('"stack"'), 'no stack');
    assert.match(logged.msg, /client went away/);
    const health = await call<{ message: string }>(undefined, `${host.api}/health`, 'GET');
    assert.equal(health.status, 200);
  });
}
