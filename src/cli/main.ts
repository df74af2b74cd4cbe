import { createNodeRegistry } from '../nodes/index.js';
import { loadConfig } from '../config/validate.js';
import { describeFlowGraph } from '../config/graph.js';
import { randomBytes } from 'node:crypto';
import { constants as osConstants } from 'node:os';
import { readAdminToken } from './admin-token.js';
import { ConfigError, FloeError, formatProblem } from '../errors.js';
import { FlagError, HOST_FLAGS, parseFlags, usage, type FlagSpec, type FlagValues } from './flags.js';
import { hashPasswordCommand } from './hash-password.js';
import { createLogger } from '../host/logger.js';
import { startHost, type ClusterOptions } from '../host/host.js';
import { collectWhenIdle } from '../host/idle-collector.js';
import { loadMallocTrim } from '../host/malloc-trim.js';
import { parseBind } from '../server/parse-bind.js';
import { serveHost, type Serving } from '../server/serve.js';
import { webappSource, type WebappSource } from './webapp-source.js';

const CHECK_FLAGS: FlagSpec[] = [{ name: 'conf', kind: 'string', default: 'default.yml', help: 'config file to check' }];

const HELP = `floe: an event-driven CI workflow engine

usage:
  floe [flags]              start a host
  floe check [-conf FILE]   validate a config and print each flow's graph of events
  floe hash-password        read a password on stdin, print its hash for common.users
  floe --help               this text

flags (each as -name=value, --name=value or --name value):
${usage(HOST_FLAGS)}

A host stops on SIGINT or SIGTERM: it takes no new runs, gives running tasks a grace
period, persists its state and exits 0.
`;

// The flow-file parser thread loads this module (the host's bundle) for it (host/flow-file-thread.ts).
export { serveFlowFileParsing } from '../host/flow-file-thread.js';

export interface Io {
  out(s: string): void;
  err(s: string): void;
}

const stdio: Io = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
};

/** Runs the floe command line; resolves with the exit code (a host resolves when it stops). */
export async function main(argv: string[], io: Io = stdio): Promise<number> {
  // Only where a flag could stand: `floe -admin -h` sets the admin token to "-h".
  if (isHelp(argv[0]) || argv.slice(1).some((a, i) => isHelp(a) && !takesValue(argv[i]))) {
    io.out(HELP);
    return 0;
  }
  try {
    if (argv[0] === 'check') return await check(argv.slice(1), io);
    if (argv[0] === 'hash-password') return await hashPasswordCommand(argv.slice(1), io);
    return await runHost(argv, io);
  } catch (err) {
    if (err instanceof FlagError) {
      io.err(`floe: ${err.message}\n`);
      return 2;
    }
    if (err instanceof FloeError && err.code === 'bad-request') {
      io.err(`floe: ${err.message}\n`);
      return 1;
    }
    if (err instanceof ConfigError) {
      io.err(`${err.problems.map(formatProblem).join('\n')}\n`);
      return 1;
    }
    throw err;
  }
}

async function check(argv: string[], io: Io): Promise<number> {
  const { values, rest } = parseFlags(argv, CHECK_FLAGS);
  if (rest.length > 0) throw new FlagError(`unexpected argument ${rest[0]}; usage: floe check -conf FILE`);
  const file = String(values.conf);
  const { config, problems } = await loadConfig(file, createNodeRegistry());
  for (const p of problems) io.err(`${formatProblem(p)}\n`);
  const errors = problems.filter((p) => p.severity === 'error').length;
  if (config) for (const flow of config.flows) io.out(`${describeFlowGraph(flow)}\n`);
  const warnings = problems.length - errors;
  io.out(`${file}: ${config?.flows.length ?? 0} flows, ${errors} errors, ${warnings} warnings\n`);
  return errors > 0 ? 1 : 0;
}

async function runHost(argv: string[], io: Io): Promise<number> {
  const { values, rest } = parseFlags(argv, HOST_FLAGS);
  if (rest.length > 0) throw new FlagError(`unexpected argument ${rest[0]}; flags look like -name=value (see floe --help)`);
  const hostName = String(values.host_name);
  if (!/^[A-Za-z0-9][A-Za-z0-9_.]*$/.test(hostName)) {
    throw new FlagError(
      `flag -host_name is letters, digits, _ and . (it prefixes run ids like ${hostName.replace(/[^A-Za-z0-9_.]/g, '') || 'h1'}-3); got "${hostName}"`,
    );
  }
  for (const [cert, key] of [
    ['pub_cert', 'pub_key'],
    ['prv_cert', 'prv_key'],
  ] as const) {
    if ((values[cert] === undefined) !== (values[key] === undefined)) throw new FlagError(`flags -${cert} and -${key} go together`);
  }
  const graceMs = graceFromEnv();
  const log = createLogger();
  // Read (and FLOE_ADMIN taken out of the environment) before anything is spawned.
  const given = await readAdminToken(values, process.env, (message, fields) => log.warn(fields, message));
  // 144 random bits, 24 characters; made before the host starts, as the cluster token defaults to it.
  const adminToken = given?.token ?? randomBytes(18).toString('base64url');
  // Handlers go in before the host starts: it may start tasks while it recovers, and a signal
  // in that window must still stop it gracefully rather than kill it outright.
  let signalled: NodeJS.Signals | undefined;
  let wake: () => void = () => {};
  const stopRequested = new Promise<void>((r) => (wake = r));
  const onSignal = (sig: NodeJS.Signals) => {
    if (signalled) {
      io.err(`floe: ${sig} again, exiting now\n`);
      process.exit(128 + (osConstants.signals[sig] ?? 0));
    }
    signalled = sig;
    log.info({ signal: sig }, 'stopping: no new runs, running tasks get a grace period');
    wake();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const clusterToken = typeof values.cluster_token === 'string' ? values.cluster_token : adminToken;
  try {
    const host = await startHost({
      configFile: String(values.conf),
      hostName,
      tags: values.tags as string[],
      root: typeof values.root === 'string' ? values.root : undefined,
      log,
      graceMs,
      maxRuns: typeof values.max_runs === 'number' ? values.max_runs : undefined,
      cluster: clusterOptions(values, clusterToken),
    });
    let serving: Serving;
    let webapp: WebappSource;
    try {
      webapp = await webappSource(values.dev === true, log);
    } catch (err) {
      await host.stop();
      throw err;
    }
    try {
      if (!given) {
        // Printed once, to the terminal only: the log never carries secrets.
        io.err(`floe: no -admin, -admin_file or FLOE_ADMIN given; this host's admin token is ${adminToken}\n`);
      }
      serving = await serveHost({
        host,
        hostName,
        tags: values.tags as string[],
        adminToken,
        clusterToken,
        pub: { bind: String(values.pub_bind), cert: optional(values.pub_cert), key: optional(values.pub_key) },
        prv: values.prv_bind
          ? { bind: String(values.prv_bind), cert: optional(values.prv_cert), key: optional(values.prv_key) }
          : undefined,
        log,
        webapp: webapp.files,
      });
    } catch (err) {
      await webapp.close();
      await host.stop();
      throw err;
    }
    log.info(
      { host: hostName, tags: values.tags, conf: values.conf, workspaces: host.workspaceRoot, flows: host.config.flows.map((f) => f.id) },
      'host started',
    );
    // The process is this host's alone, so it may run V8's collector: memory grown by a burst of
    // runs or output goes back once the host is quiet again (issue 10, src/host/idle-collector.ts).
    const trim = loadMallocTrim();
    log.info(
      { mallocTrim: trim !== undefined },
      trim ? 'an idle host gives freed malloc pages back (floe-trim)' : 'floe-trim not built: freed malloc pages stay with the host',
    );
    const collector = collectWhenIdle({ release: trim });
    const unsubscribe = host.hub.subscribe(() => collector.poke());
    await stopRequested;
    unsubscribe();
    collector.close();
    let code = 0;
    for (const [what, step] of [
      ['server', () => serving.close()],
      ['host', () => host.stop()],
      ['webapp watcher', () => webapp.close()],
    ] as const) {
      try {
        await step();
      } catch (err) {
        log.error({ err }, `error while stopping the ${what}`);
        code = 1;
      }
    }
    log.info({ exitCode: code }, 'host stopped');
    return code;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Where peers reach this host (prv_bind, else pub_bind, with that bind's TLS) and how it proves itself to them. */
function clusterOptions(values: FlagValues, token: string): ClusterOptions {
  const [bind, cert] = values.prv_bind ? [values.prv_bind, values.prv_cert] : [values.pub_bind, values.pub_cert];
  // Flag parsing has checked every bind.
  const parsed = parseBind(String(bind));
  if (!parsed) throw new FlagError(`bad bind ${String(bind)}`);
  return { token, bind: parsed, tls: cert !== undefined };
}

/** FLOE_GRACE_MS: how long running tasks get on shutdown; a bad value is a flag error. */
function graceFromEnv(): number | undefined {
  const raw = process.env.FLOE_GRACE_MS;
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw)) throw new FlagError(`FLOE_GRACE_MS is a whole number of milliseconds, got "${raw}"`);
  return Number(raw);
}

function optional(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function isHelp(a: string | undefined): boolean {
  return a === 'help' || a === '--help' || a === '-help' || a === '-h';
}

/** Whether `arg` is a flag written without `=` whose value is the next argument. */
function takesValue(arg: string | undefined): boolean {
  const flag = /^--?([^=]+)$/.exec(arg ?? '')?.[1];
  if (flag === undefined) return false;
  const spec = [...HOST_FLAGS, ...CHECK_FLAGS].find((f) => f.name === flag.replace(/-/g, '_'));
  return spec !== undefined && spec.kind !== 'bool';
}
