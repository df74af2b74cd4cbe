import { readFile } from 'node:fs/promises';
import { createServer as createHttp } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { FloeError } from '../errors.js';
import { parseBind } from '../flags.js';
/**
 * Starts one server per distinct bind: the public API, and the host-to-host API on prv_bind
 * (the same server when both binds are equal). TLS when a cert and key are given.
 */
export async function listen(handler, pub, prv) {
    const specs = [{ spec: pub, roles: ['pub'] }];
    if (prv && prv.bind !== pub.bind)
        specs.push({ spec: prv, roles: ['prv'] });
    else
        specs[0].roles.push('prv');
    const out = [];
    try {
        for (const { spec, roles } of specs)
            out.push({ ...(await listenOne(handler, spec)), roles });
    }
    catch (err) {
        await closeAll(out.map((l) => l.server));
        throw err;
    }
    return out;
}
async function listenOne(handler, spec) {
    const addr = parseBind(spec.bind);
    if (!addr)
        throw new FloeError('bad-request', `bad bind ${spec.bind}: expected host:port`);
    const tls = spec.cert !== undefined && spec.key !== undefined;
    const server = tls
        ? createHttps({ cert: await readTlsFile(spec.cert, 'certificate'), key: await readTlsFile(spec.key, 'key') }, handler)
        : createHttp(handler);
    server.headersTimeout = 20_000;
    server.requestTimeout = 60_000;
    await new Promise((resolve, reject) => {
        server.once('error', (err) => reject(new FloeError('bad-request', `cannot listen on ${spec.bind}: ${err.code === 'EADDRINUSE' ? 'address already in use' : err.message}`)));
        server.listen(addr.port, addr.host, () => resolve());
    });
    const { port } = server.address();
    const host = addr.host.includes(':') ? `[${addr.host}]` : addr.host;
    return { server, url: `${tls ? 'https' : 'http'}://${host}:${port}` };
}
async function readTlsFile(file, what) {
    try {
        return await readFile(file);
    }
    catch (err) {
        throw new FloeError('bad-request', `cannot read TLS ${what} ${file}: ${err instanceof Error ? err.message : String(err)}`);
    }
}
export async function closeAll(servers) {
    await Promise.all(servers.map((s) => new Promise((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections?.();
    })));
}
//# sourceMappingURL=listen.js.map