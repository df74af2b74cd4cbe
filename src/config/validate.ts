import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { formatPos } from '../errors.js';
import { quoteValue } from '../quote-value.js';
import type { ConfigProblem, SourcePos } from '../errors.js';
import type { NodeRegistry } from '../nodes/node-type.js';
import type { CommonConfig, Config, FlowConfig, TriggerConfig } from './schema.js';
import { checkTemplate } from '../nodes/template.js';
import { FieldReader, childPath, readNamed } from './field-reader.js';
import type { Named } from './field-reader.js';
import { entryOf, loadYaml } from './load.js';
import type { Pos, TreeMap, TreeNode } from './load.js';
import { readNode } from './flow-nodes.js';
import type { PlacedNode } from './flow-nodes.js';
import { readTrigger } from './triggers.js';
import { DEFAULT_SESSION_TTL_SEC, MAX_SESSION_TTL_SEC, readUsers } from './users.js';
import { exclusiveWaits, judgeTag, unreachableNodes } from './tags.js';
import { proxyEntryError, proxyEntryWarning } from './trusted-proxies.js';
import type { EndsRun } from './tags.js';

export { TASK_KEYS, MERGE_KEYS, MERGE_TYPES, NODE_CLASSES } from './flow-nodes.js';
export { TRIGGER_KEYS, TRIGGER_OPTS_KEYS, TRIGGER_TYPES } from './triggers.js';
export { FORM_KEYS, FORM_FIELD_KEYS, FORM_FIELD_TYPES } from './form.js';
export { USER_KEYS, USER_ROLES, DEFAULT_SESSION_TTL_SEC } from './users.js';

export const TOP_KEYS = ['common', 'flows'] as const;
export const COMMON_KEYS = [
  'hosts',
  'base-url',
  'config-path',
  'store-type',
  'store-root',
  'workspace-root',
  'git-key',
  'users',
  'session-ttl',
  'trusted-proxies',
] as const;
export const FLOW_KEYS = [
  'id',
  'ver',
  'name',
  'reuse-space',
  'host-tags',
  'resource-tags',
  'env',
  'flow-file',
  'triggers',
  'tasks',
  'merges',
] as const;
/** What a flow-file may set; triggers and placement must be known before it is read. */
export const FLOW_FILE_KEYS = ['env', 'tasks', 'merges'] as const;
export const STORE_TYPES = ['memory', 'local'] as const;
/** Tasks and merges in one flow or flow-file; real flows hold tens, and checking tags costs the square of it. */
export const MAX_FLOW_NODES = 1000;
/** Prefix of the HTTP API when `base-url` is not given. */
export const DEFAULT_BASE_URL = '/build/api';

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface ConfigResult {
  /** Present only when no errors were found (warnings may still be). */
  config?: Config;
  /** Every error and warning, in file order. */
  problems: ConfigProblem[];
}

/** Read and validate a config file; a missing file or bad YAML is a problem, never a throw. */
export async function loadConfig(file: string, registry: NodeRegistry): Promise<ConfigResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return { problems: [{ severity: 'error', message: `cannot read config: ${why}`, at: { file, line: 1, col: 1, path: '' } }] };
  }
  const result = parseConfig(text, file, registry);
  if (result.config) result.config.file = resolve(file);
  return result;
}

/** Validate config text; `file` labels positions (and becomes `Config.file`). */
export function parseConfig(text: string, file: string, registry: NodeRegistry): ConfigResult {
  const loaded = loadYaml(text, file);
  if (loaded.problems.some((p) => p.severity === 'error')) return { problems: loaded.problems };
  const root: TreeNode = loaded.root ?? { kind: 'map', entries: [], pos: { line: 1, col: 1 } };
  const r = new FieldReader(file);
  r.problems.push(...loaded.problems);
  const config = readConfig(r, root, file, registry);
  const problems = [...r.problems].sort((a, b) => a.at.line - b.at.line || a.at.col - b.at.col);
  return r.hasErrors() || config === undefined ? { problems } : { config, problems };
}

function readConfig(r: FieldReader, root: TreeNode, file: string, registry: NodeRegistry): Config | undefined {
  const map = r.asMap(root, '', 'the config');
  if (map === undefined) return undefined;
  r.checkKeys(map, '', TOP_KEYS, 'the config');
  const commonEntry = r.given(map, 'common');
  const commonMap = commonEntry ? r.asMap(commonEntry.value, 'common', 'common') : undefined;
  const common = readCommon(r, commonMap ?? { kind: 'map', entries: [], pos: map.pos });
  const flows: FlowConfig[] = [];
  const flowsSeq = r.seq(map, '', 'flows');
  if (r.given(map, 'flows') === undefined)
    r.warn(entryOf(map, 'flows')?.keyPos ?? map.pos, 'flows', 'no flows: this host has nothing to run');
  const seen = new Map<string, { path: string; at: SourcePos }>();
  flowsSeq?.items.forEach((item, i) => {
    const path = childPath('flows', i);
    const read = readFlow(r, item, path, registry);
    if (read === undefined) return;
    flows.push(read.flow);
    if (read.named === undefined) return;
    const key = `${read.flow.id} v${read.flow.ver}`;
    const first = seen.get(key);
    if (first) {
      r.error(
        read.named.idPos,
        childPath(path, 'id'),
        `flow ${key} is also defined at ${formatPos(first.at)} (${first.path}); id and ver together must be unique`,
      );
    } else {
      seen.set(key, { path, at: r.at(read.named.idPos, path) });
    }
  });
  return { file, common, flows };
}

function readCommon(r: FieldReader, map: TreeMap): CommonConfig {
  const path = 'common';
  r.checkKeys(map, path, COMMON_KEYS, 'common');
  const hosts = r.strList(map, path, 'hosts') ?? [];
  const hostsEntry = entryOf(map, 'hosts');
  hosts.forEach((h, i) => {
    if (isHttpUrl(h) || hostsEntry?.value.kind !== 'seq') return;
    r.error(
      (hostsEntry.value.items[i] ?? hostsEntry.value).pos,
      childPath(childPath(path, 'hosts'), i),
      `hosts entry ${quoteValue(h)} must be a URL like http://10.0.0.2:8080`,
    );
  });
  const baseUrl = r.str(map, path, 'base-url') ?? DEFAULT_BASE_URL;
  if (!baseUrl.startsWith('/')) {
    r.error(
      entryOf(map, 'base-url')!.value.pos,
      childPath(path, 'base-url'),
      `base-url must start with "/", e.g. ${quoteValue(`/${baseUrl}`)}`,
    );
  }
  const store = entryOf(map, 'store-type')?.value;
  let storeType: CommonConfig['storeType'] = 'local';
  if (store?.kind === 'scalar' && store.value === 'ec2') {
    r.error(store.pos, childPath(path, 'store-type'), 'store-type ec2 is not supported by this version; use local (on disk) or memory');
  } else {
    storeType = r.oneOf(map, path, 'store-type', STORE_TYPES) ?? 'local';
  }
  const users = readUsers(r, map, path);
  const sessionTtlSec = r.positive(map, path, 'session-ttl', 'seconds') ?? DEFAULT_SESSION_TTL_SEC;
  if (sessionTtlSec > MAX_SESSION_TTL_SEC) {
    r.error(
      entryOf(map, 'session-ttl')!.value.pos,
      childPath(path, 'session-ttl'),
      `session-ttl must be at most ${MAX_SESSION_TTL_SEC} seconds (a year), got ${sessionTtlSec}`,
    );
  }
  const trustedProxies = r.strList(map, path, 'trusted-proxies') ?? [];
  const proxiesEntry = entryOf(map, 'trusted-proxies');
  trustedProxies.forEach((p, i) => {
    const at = proxiesEntry?.value.kind === 'seq' ? (proxiesEntry.value.items[i] ?? proxiesEntry.value) : proxiesEntry!.value;
    const itemPath = childPath(childPath(path, 'trusted-proxies'), i);
    const error = proxyEntryError(p);
    if (error !== undefined) return r.error(at.pos, itemPath, `trusted-proxies entry ${quoteValue(p)} ${error}`);
    const warning = proxyEntryWarning(p);
    if (warning !== undefined) r.warn(at.pos, itemPath, `trusted-proxies entry ${quoteValue(p)} ${warning}`);
  });
  const common: CommonConfig = { hosts, baseUrl, storeType, users, sessionTtlSec, trustedProxies };
  const configPath = r.str(map, path, 'config-path');
  const storeRoot = r.str(map, path, 'store-root');
  const workspaceRoot = r.str(map, path, 'workspace-root');
  const gitKey = r.str(map, path, 'git-key');
  if (configPath !== undefined) common.configPath = configPath;
  if (storeRoot !== undefined) common.storeRoot = storeRoot;
  if (workspaceRoot !== undefined) common.workspaceRoot = workspaceRoot;
  if (gitKey !== undefined) common.gitKey = gitKey;
  return common;
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

interface ReadFlow {
  flow: FlowConfig;
  named?: Named;
}

function readFlow(r: FieldReader, item: TreeNode, path: string, registry: NodeRegistry): ReadFlow | undefined {
  const map = r.asMap(item, path, 'a flow');
  if (map === undefined) return undefined;
  r.checkKeys(map, path, FLOW_KEYS, 'a flow', ['subs']);
  const subs = entryOf(map, 'subs');
  if (subs) r.error(subs.keyPos, childPath(path, 'subs'), 'subs was renamed to triggers; rename the key');
  const named = readNamed(r, map, path, 'a flow');
  const ver = r.int(map, path, 'ver') ?? 1;
  if (ver < 1) r.error(entryOf(map, 'ver')!.value.pos, childPath(path, 'ver'), `ver must be 1 or more, got ${ver}`);
  const flow: FlowConfig = {
    id: named?.id ?? '',
    ver,
    name: named?.name ?? '',
    reuseSpace: r.bool(map, path, 'reuse-space') ?? false,
    hostTags: r.strList(map, path, 'host-tags') ?? [],
    resourceTags: r.strList(map, path, 'resource-tags') ?? [],
    env: readEnv(r, map, path),
    triggers: [],
    nodes: [],
    at: r.at(map.pos, path),
  };
  const flowFile = r.str(map, path, 'flow-file');
  if (flowFile !== undefined) flow.flowFile = flowFile;

  const ids = new IdClaims(r);
  const triggers: TriggerConfig[] = [];
  r.seq(map, path, 'triggers')?.items.forEach((t, i) => {
    const read = readTrigger(r, t, childPath(childPath(path, 'triggers'), i));
    if (read.named) ids.claim(read.named.id, read.path, r.at(read.named.idPos, read.path));
    if (read.trigger) triggers.push(read.trigger);
  });
  flow.triggers = triggers;

  const triggersEntry = r.given(map, 'triggers');
  if (triggersEntry === undefined || (triggersEntry.value.kind === 'seq' && triggersEntry.value.items.length === 0)) {
    r.warn(entryOf(map, 'triggers')?.keyPos ?? map.pos, childPath(path, 'triggers'), 'no triggers: nothing can start this flow');
  }
  const placed = readNodes(r, map, path, flow, registry, ids);
  if (placed === undefined && flowFile === undefined) {
    r.missing(map, path, 'tasks', 'a flow needs tasks, or a flow-file that supplies them when a run starts');
  }
  return { flow, named };
}

/** First place each node id of a flow was given, to report repeats with both places. */
class IdClaims {
  private readonly first = new Map<string, { path: string; at: SourcePos }>();

  constructor(private readonly r: FieldReader) {}

  claim(id: string, path: string, at: SourcePos): void {
    const first = this.first.get(id);
    if (first === undefined) {
      this.first.set(id, { path, at });
      return;
    }
    this.r.error(
      at,
      childPath(path, 'id'),
      `id ${quoteValue(id)} is already used by ${first.path} at ${formatPos(first.at)}; ids must be unique within a flow (triggers, tasks and merges alike)`,
    );
  }
}

/**
 * Read the `tasks` and `merges` of `map` into `flow.nodes`, then check the flow's tags.
 * Undefined when none are written (a flow-file may supply them).
 */
function readNodes(
  r: FieldReader,
  map: TreeMap,
  path: string,
  flow: FlowConfig,
  registry: NodeRegistry,
  ids: IdClaims,
): PlacedNode[] | undefined {
  const placed: PlacedNode[] = [];
  let written = 0;
  for (const list of ['tasks', 'merges'] as const) {
    const items = r.seq(map, path, list)?.items ?? [];
    items.forEach((n, i) => {
      const at = childPath(childPath(path, list), i);
      written += 1;
      if (written > MAX_FLOW_NODES) {
        if (written === MAX_FLOW_NODES + 1)
          r.error(n.pos, at, `a flow holds at most ${MAX_FLOW_NODES} tasks and merges; this one and the rest are not read`);
        return;
      }
      const p = readNode(r, n, at, list, registry);
      if (p === undefined) return;
      ids.claim(p.named.id, p.path, r.at(p.named.idPos, p.path));
      placed.push(p);
    });
  }
  flow.nodes = placed.map((p) => p.node);
  const misshapen = ['tasks', 'merges'].some((k) => r.given(map, k) && r.given(map, k)!.value.kind !== 'seq');
  if (written === 0) return misshapen ? [] : undefined;
  if (placed.length === 0) return placed;
  const endsRun: EndsRun = (type) => registry.get(type)?.endsRun === true;
  checkTags(r, flow, placed, endsRun);
  if (!flow.nodes.some((n) => n.class === 'task' && endsRun(n.type))) {
    r.warn(
      entryOf(map, 'tasks')?.keyPos ?? map.pos,
      childPath(path, 'tasks'),
      'no end task: a run ends once nothing is left to run; add a task of type end to mark where success is reached',
    );
  }
  return placed;
}

export interface FlowFileResult {
  /** The base flow with the file's nodes and env; present only when no errors were found. */
  flow?: FlowConfig;
  problems: ConfigProblem[];
}

/**
 * Validate a flow's `flow-file` (read when a run starts): its tasks and merges replace the
 * flow's nodes and its env entries follow the flow's. Triggers and placement stay in the
 * config, so tags are checked against `base`'s triggers.
 */
export function parseFlowFile(text: string, file: string, base: FlowConfig, registry: NodeRegistry): FlowFileResult {
  const loaded = loadYaml(text, file);
  if (loaded.problems.some((p) => p.severity === 'error')) return { problems: loaded.problems };
  const r = new FieldReader(file);
  r.problems.push(...loaded.problems);
  const root: TreeNode = loaded.root ?? { kind: 'map', entries: [], pos: { line: 1, col: 1 } };
  const map = r.asMap(root, '', 'a flow-file');
  if (map === undefined) return { problems: r.problems };
  for (const e of map.entries) {
    if ((FLOW_KEYS as readonly string[]).includes(e.key) && !(FLOW_FILE_KEYS as readonly string[]).includes(e.key)) {
      r.warn(e.keyPos, e.key, `${e.key} is set in the config, not in a flow-file; ignored here`);
    }
  }
  r.checkKeys(map, '', FLOW_KEYS, 'a flow-file');
  const flow: FlowConfig = { ...base, env: [...base.env, ...readEnv(r, map, '')], nodes: [] };
  delete flow.flowFile;
  const ids = new IdClaims(r);
  for (const t of base.triggers) ids.claim(t.id, t.at.path, t.at);
  if (readNodes(r, map, '', flow, registry, ids) === undefined) {
    r.missing(map, '', 'tasks', 'a flow-file needs tasks');
  }
  const problems = [...r.problems].sort((a, b) => a.at.line - b.at.line || a.at.col - b.at.col);
  return r.hasErrors() ? { problems } : { flow, problems };
}

function readEnv(r: FieldReader, map: TreeMap, path: string): string[] {
  const env = r.strList(map, path, 'env') ?? [];
  const entry = entryOf(map, 'env');
  env.forEach((kv, i) => {
    if (entry?.value.kind !== 'seq') return;
    const pos = (entry.value.items[i] ?? entry.value).pos;
    const p = childPath(childPath(path, 'env'), i);
    const eq = kv.indexOf('=');
    if (eq < 0) r.error(pos, p, `env entry ${quoteValue(kv)} must have the form KEY=value`);
    else if (!ENV_KEY.test(kv.slice(0, eq))) {
      r.error(pos, p, `env key ${quoteValue(kv.slice(0, eq))} must be letters, digits and _, not starting with a digit`);
    } else {
      const bad = checkTemplate(kv.slice(eq + 1));
      if (bad) r.error(pos, p, `env value of ${kv.slice(0, eq)} is not a valid template: ${bad}`);
    }
  });
  return env;
}

/** Bad tags of a flow that get a typo hint; each hint compares the tag with every tag of the flow. */
const MAX_TAG_HINTS = 20;

/** Every listen and wait tag must be one some node of the flow can emit; then warn about what can never run. */
function checkTags(r: FieldReader, flow: FlowConfig, placed: PlacedNode[], endsRun: EndsRun): void {
  const doubtful = new Set<PlacedNode>();
  let badTags = 0;
  const judge = (p: PlacedNode, tag: string, pos: Pos, path: string): void => {
    const verdict = judgeTag(flow, tag, endsRun, badTags < MAX_TAG_HINTS);
    if (verdict === undefined) return;
    badTags += 1;
    doubtful.add(p);
    if (verdict.severity === 'error') r.error(pos, path, verdict.message);
    else r.warn(pos, path, verdict.message);
  };
  for (const p of placed) {
    const n = p.node;
    if (n.class === 'task') {
      if (p.listenPos) judge(p, n.listen, p.listenPos, childPath(p.path, 'listen'));
      continue;
    }
    const listed = new Set<string>();
    n.wait.forEach((tag, i) => {
      const at = childPath(childPath(p.path, 'wait'), i);
      const pos = p.waitPos[i] ?? n.at;
      if (listed.has(tag)) r.warn(pos, at, `${quoteValue(tag)} is already in wait; listed twice`);
      else judge(p, tag, pos, at);
      listed.add(tag);
    });
    const clash = n.type === 'all' ? exclusiveWaits(n.wait) : undefined;
    if (clash) {
      doubtful.add(p);
      r.warn(
        n.at,
        childPath(p.path, 'wait'),
        `merge ${n.id} waits for all of ${quoteValue(clash[0])} and ${quoteValue(clash[1])}, but a task emits only one tag per run, so it never fires; use type: any?`,
      );
    }
  }
  // Nodes already warned about count as reached, so what follows them is not blamed again.
  const warned = placed.filter((p) => doubtful.has(p) || p.hasErrors).map((p) => p.node);
  const unreachable = new Set(unreachableNodes(flow, endsRun, warned));
  for (const p of placed) {
    if (!unreachable.has(p.node)) continue;
    const n = p.node;
    const what =
      n.class === 'task'
        ? `task ${n.id} can never run: it listens to ${quoteValue(n.listen)}`
        : `merge ${n.id} can never fire: it waits for ${n.wait.map(quoteValue).join(', ')}`;
    r.warn(n.at, p.path, `${what}, emitted only by nodes that can never run themselves (a cycle, or a branch nothing starts)`);
  }
}
