import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parsePeerReply, parsePeerRequest, type HostHello, type PeerReply, type PeerRequest } from '../../src/cluster/messages.js';
import { fuzzParams } from '../fuzz/settings.js';

// What a peer sends arrives as JSON from the network: the parsers answer every value with a
// message (or an error reply) and never throw, and every message a host can send survives the
// trip through JSON unchanged.

const REQUEST_KINDS = ['hello', 'offer', 'take', 'lock', 'unlock', 'granted', 'events', 'poll-seen', 'tags', 'runs'];
const REPLY_KINDS = [...REQUEST_KINDS, 'refused', 'error'];

const str = fc.string({ maxLength: 12 });
/** Tags and run ids: never empty, never a control character (they become parts of store keys). */
const name = fc.string({ minLength: 1, maxLength: 20 }).filter((x) => !/[\u0000-\u001f]/.test(x));
const strs = fc.array(str, { maxLength: 4 });
const count = fc.nat({ max: 1000 });

const hello: fc.Arbitrary<HostHello> = fc.record(
  {
    name: str,
    url: str,
    boot: str,
    version: str,
    protocol: fc.integer(),
    tags: strs,
    hostsKey: str,
    load: fc.record({ active: count, pending: count, maxRuns: fc.option(count, { nil: null }) }),
    runs: fc.record({ pending: strs, active: strs }),
    heldTags: strs,
    known: fc.array(
      fc.record({ url: str, name: str, online: fc.boolean(), lastContact: fc.integer({ min: 0 }) }, { requiredKeys: ['url', 'online'] }),
      { maxLength: 3 },
    ),
    // Absent in a hello from a host that predates it.
    watching: fc.boolean(),
  },
  { requiredKeys: ['name', 'url', 'boot', 'version', 'protocol', 'tags', 'hostsKey', 'load', 'runs', 'heldTags', 'known'] },
);

const flowRef = fc.record({ id: str, ver: fc.integer() });

/** The fields parsePeerRequest checks, and some it carries along. */
const record = fc.record({
  ref: fc.record({ flowRef, run: str }),
  adoptedBy: str,
  createdAt: fc.integer({ min: 0 }),
  status: fc.constantFrom('pending', 'running', 'good'),
  trigger: fc.record({ id: str, type: fc.constantFrom('data', 'timer'), values: fc.dictionary(str, str, { maxKeys: 3 }) }),
  nodes: fc.dictionary(str, fc.record({ status: str }), { maxKeys: 2 }),
  resourceTags: strs,
});

const runRef = fc.record({ flowRef, run: str });

/** Published events as a host forwards them: the fields checked, and some carried along. */
const event = fc.oneof(
  fc.record({
    kind: fc.constantFrom('end', 'add-pend', 'node', 'activate'),
    tag: str,
    ref: runRef,
    line: str,
    seq: fc.maxSafeNat(),
    at: fc.integer({ min: 0 }),
    host: fc.string({ minLength: 1, maxLength: 12 }),
  }),
  fc
    .record({
      kind: fc.constant('node-output'),
      tag: str,
      ref: runRef,
      node: str,
      stream: fc.constantFrom('stdout', 'stderr', 'floe'),
      first: fc.nat(),
      lines: fc.array(fc.string(), { minLength: 1, maxLength: 4 }),
      seq: fc.maxSafeNat(),
      at: fc.integer({ min: 0 }),
      host: fc.string({ minLength: 1, maxLength: 12 }),
    })
    .map((e) => ({ ...e, last: e.first + e.lines.length - 1 })),
  fc.record({
    kind: fc.constant('trigger'),
    tag: str,
    flowRef,
    values: fc.dictionary(str, str, { maxKeys: 2 }),
    seq: fc.maxSafeNat(),
    at: fc.integer({ min: 0 }),
    host: fc.string({ minLength: 1, maxLength: 12 }),
  }),
);

/** A resource tag as its owner lists it for views. */
const tagView = fc.record(
  {
    tag: name,
    holder: name,
    waiting: fc.array(name, { maxLength: 3 }),
    manual: fc.array(fc.record({ run: name, by: str, at: fc.integer({ min: 0 }) }), { maxLength: 2 }),
  },
  { requiredKeys: ['tag', 'waiting', 'manual'] },
);

/** A run summary as a `runs` reply lists it; an active one with its progress and data nodes waiting. */
const summary = fc.record(
  {
    ref: runRef,
    execHost: str,
    status: fc.constantFrom('pending', 'running', 'good', 'bad', 'cancelled'),
    createdAt: fc.integer({ min: 0 }),
    startTime: fc.integer({ min: 0 }),
    endTime: fc.integer({ min: 0 }),
    trigger: fc.record({ id: str, type: fc.constantFrom('data', 'timer'), values: fc.dictionary(str, str, { maxKeys: 2 }) }),
    progress: fc.record({ done: count, total: count }),
    dataWaiting: fc.array(
      fc.record({ node: str, name: str, form: fc.record({ title: str, fields: fc.constant([]) }), since: fc.integer({ min: 0 }) }),
      { maxLength: 2 },
    ),
  },
  { requiredKeys: ['ref', 'status', 'createdAt', 'trigger'] },
);

/** A `runs` request's archive slice: a filtered one may skip more. */
const slice = fc.oneof(
  fc.record({ limit: fc.integer({ min: 1, max: 1000 }), skip: count, before: fc.maxSafeNat() }, { requiredKeys: ['limit', 'skip'] }),
  fc.record(
    {
      limit: fc.integer({ min: 1, max: 1000 }),
      skip: fc.nat({ max: 100_000 }),
      before: fc.maxSafeNat(),
      status: fc.subarray(['good', 'bad', 'cancelled'], { minLength: 1 }),
    },
    { requiredKeys: ['limit', 'skip', 'status'] },
  ),
);

const request: fc.Arbitrary<PeerRequest> = fc.oneof(
  fc
    .record(
      {
        kind: fc.constant('runs' as const),
        from: str,
        flow: str,
        lists: fc.subarray(['pending', 'active', 'archive']),
        archive: slice,
      },
      { requiredKeys: ['kind', 'from', 'lists'] },
    )
    .map((r) => r as unknown as PeerRequest),
  fc.record({ kind: fc.constant('hello' as const), hello }),
  fc.record({ kind: fc.constant('offer' as const), from: str, run: str, flow: flowRef }),
  fc.record({ kind: fc.constant('take' as const), from: str, record }).map((r) => r as unknown as PeerRequest),
  fc.record({ kind: fc.constant('lock' as const), from: str, tag: name, run: name }),
  fc.record(
    { kind: fc.constant('unlock' as const), from: str, tag: name, run: name, by: str },
    { requiredKeys: ['kind', 'from', 'tag', 'run'] },
  ),
  fc.record({ kind: fc.constant('granted' as const), tag: str, run: str }),
  fc.record(
    {
      kind: fc.constant('poll-seen' as const),
      from: str,
      key: str.map((k) => `poll-git/${k}`),
      seen: fc.dictionary(str, str, { maxKeys: 3 }),
      at: fc.maxSafeNat(),
    },
    { requiredKeys: ['kind', 'from', 'key', 'seen'] },
  ),
  fc.record({ kind: fc.constant('tags' as const), from: str }),
  fc
    .record({ kind: fc.constant('events' as const), from: str, events: fc.array(event, { maxLength: 4 }) })
    .map((r) => r as unknown as PeerRequest),
);

const reply: fc.Arbitrary<PeerReply> = fc.oneof(
  fc.record({ kind: fc.constant('hello' as const), hello }),
  fc.constant({ kind: 'offer' as const, accept: true as const }),
  fc.record({ kind: fc.constant('offer' as const), accept: fc.constant(false as const), reason: str }),
  fc.constant({ kind: 'take' as const }),
  fc.constantFrom({ kind: 'lock' as const, state: 'granted' as const }, { kind: 'lock' as const, state: 'released' as const }),
  fc.record({
    kind: fc.constant('lock' as const),
    state: fc.constant('queued' as const),
    position: fc.integer({ min: 1 }),
    holder: str,
    ahead: str,
  }),
  fc.constant({ kind: 'unlock' as const }),
  fc.constant({ kind: 'granted' as const }),
  fc.constant({ kind: 'events' as const }),
  fc.constant({ kind: 'poll-seen' as const }),
  fc
    .record(
      {
        kind: fc.constant('runs' as const),
        pending: fc.array(summary, { maxLength: 2 }),
        active: fc.array(summary, { maxLength: 2 }),
        archive: fc.array(summary, { maxLength: 2 }),
        next: fc.maxSafeNat(),
        from: fc.maxSafeNat(),
        skipped: count,
        scannedTo: fc.integer({ min: 0 }),
      },
      { requiredKeys: ['kind', 'pending', 'active', 'archive'] },
    )
    .map((r) => r as unknown as PeerReply),
  fc.record({ kind: fc.constant('tags' as const), tags: fc.array(tagView, { maxLength: 3 }) }),
  fc.record({ kind: fc.constant('refused' as const), reason: str }),
  fc.record({ kind: fc.constant('error' as const), message: str }),
);

/** As the value reads after JSON.stringify and JSON.parse: what a peer's parser is given. */
function overJson(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v) ?? 'null') as unknown;
}

/** Odd values for a field: of the wrong type, huge, or shaped like a message. */
const oddValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.anything({ maxDepth: 2 }),
  fc.constantFrom(undefined, null, NaN, -0, Infinity, 1.5, -1, '', 'x'.repeat(5000), [], {}, ...REPLY_KINDS),
  fc.array(fc.constant('x'.repeat(10)), { minLength: 10_001, maxLength: 10_001 }),
);

/** Every path to a value inside `v` (the root too), objects and arrays alike. */
function pathsOf(v: unknown, at: Array<string | number> = [], out: Array<Array<string | number>> = []): Array<Array<string | number>> {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => pathsOf(x, [...at, i], out));
  else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) pathsOf(x, [...at, k], out);
  return out;
}

/** `v` with the value at `path` deleted, or replaced by `value`. */
function mutate(v: unknown, path: Array<string | number>, op: { delete: true } | { value: unknown }): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return 'delete' in op ? undefined : op.value;
  if (Array.isArray(v)) {
    const copy = [...(v as unknown[])];
    if (rest.length === 0 && 'delete' in op) copy.splice(Number(head), 1);
    else copy[Number(head)] = mutate(copy[Number(head)], rest, op);
    return copy;
  }
  const copy = { ...(v as Record<string, unknown>) };
  if (rest.length === 0 && 'delete' in op) delete copy[head];
  else copy[head] = mutate(copy[head], rest, op);
  return copy;
}

const mutation = fc.tuple(
  fc.nat(),
  fc.oneof(
    fc.constant({ delete: true as const }),
    oddValue.map((value) => ({ value })),
  ),
);

function mutated<T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
  return fc.tuple(valid, fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([v, ops]) => {
    let out: unknown = v;
    for (const [n, op] of ops) {
      const paths = pathsOf(out);
      out = mutate(out, paths[n % paths.length]!, op);
    }
    return out;
  });
}

/**
 * Parses `v` as it is and as the network delivers it (JSON): neither throws, a refusal is a short
 * message, and a request accepted from the network is accepted again, unchanged, when sent on.
 */
function checkRequest(v: unknown): void {
  for (const [input, isWire] of [
    [v, false],
    [overJson(v), true],
  ] as const) {
    const r = parsePeerRequest(input);
    if (typeof r === 'string') {
      assert.ok(r.length > 0 && r.length < 300, r);
      continue;
    }
    assert.ok(REQUEST_KINDS.includes(r.kind), r.kind);
    if (isWire) assert.deepEqual(overJson(parsePeerRequest(overJson(r))), overJson(r));
  }
}

/** As checkRequest, for replies: always a reply of a known kind. */
function checkReply(v: unknown): void {
  for (const [input, isWire] of [
    [v, false],
    [overJson(v), true],
  ] as const) {
    const r = parsePeerReply(input);
    assert.ok(REPLY_KINDS.includes(r.kind), JSON.stringify(r));
    if (isWire) assert.deepEqual(overJson(parsePeerReply(overJson(r))), overJson(r));
  }
}

test('valid requests and replies come through JSON as they went in', () => {
  fc.assert(
    fc.property(request, (req) => {
      assert.deepEqual(overJson(parsePeerRequest(overJson(req))), overJson(req));
    }),
    fuzzParams(500),
  );
  fc.assert(
    fc.property(reply, (rep) => {
      assert.deepEqual(overJson(parsePeerReply(overJson(rep))), overJson(rep));
    }),
    fuzzParams(500),
  );
});

test('the parsers never throw on arbitrary values, and what they accept they accept again', () => {
  const shaped = fc
    .record({ kind: fc.oneof(fc.constantFrom(...REPLY_KINDS), fc.anything({ maxDepth: 1 })) })
    .chain((base) =>
      fc
        .dictionary(
          fc.constantFrom(
            'hello',
            'from',
            'run',
            'flow',
            'record',
            'tag',
            'by',
            'accept',
            'reason',
            'state',
            'position',
            'holder',
            'message',
            'events',
            'watching',
            'key',
            'seen',
            'at',
            'tags',
            'lists',
            'archive',
            'pending',
            'active',
            'skipped',
            'scannedTo',
          ),
          oddValue,
          { maxKeys: 6 },
        )
        .map((rest) => ({ ...rest, ...base })),
    );
  fc.assert(
    fc.property(fc.oneof(fc.jsonValue(), fc.anything(), shaped), (v) => {
      checkRequest(v);
      checkReply(v);
    }),
    fuzzParams(1000),
  );
});

test('the parsers never throw on valid messages with fields deleted or replaced, and say what is wrong', () => {
  fc.assert(
    fc.property(mutated(request), mutated(reply), (req, rep) => {
      for (const v of [req, rep]) {
        checkRequest(v);
        checkReply(v);
      }
    }),
    fuzzParams(1000),
  );
});
