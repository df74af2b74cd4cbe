import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Membership } from '../../src/cluster/membership.js';
import { parsePeerReply, parsePeerRequest, PROTOCOL_VERSION, type PeerReply, type PeerRequest } from '../../src/cluster/messages.js';
import { ClusterViews, type RunListing } from '../../src/hub/cluster-views.js';
import { answerRunRequest, isRunRequest, type LocalRuns } from '../../src/hub/run-requests.js';
import type { EndStatus, RunRecord } from '../../src/model/run.js';
import { MemoryStore } from '../../src/store/memory.js';
import { manualClock } from '../../src/testing/manual-clock.js';
import { fuzzParams } from '../fuzz/settings.js';

// Paging through the archive merged from one to three hosts, with runs of two flows archived
// in any order of end times and more archived between pages: every run archived before the
// first page is listed exactly once, each host's runs in its own archive order, and by end
// time across hosts when each host's archive order is its end-time order. The same with a
// status filter, under which each host reads only a few runs per page (issue 9): only runs
// that ended so are listed, and still each exactly once and in order.

/** One archived run: on which host, of which flow, ending how long after the previous one (or before it), and how. */
interface Archived {
  host: number;
  flow: 'f' | 'g';
  gap: number;
  status: EndStatus;
}

const archived = (ordered: boolean) =>
  fc.record({
    host: fc.nat({ max: 2 }),
    flow: fc.constantFrom<'f' | 'g'>('f', 'f', 'g'),
    gap: ordered ? fc.integer({ min: 0, max: 5 }) : fc.integer({ min: -20, max: 20 }),
    // Mostly good, as archives are: a filter for bad or cancelled finds few.
    status: fc.constantFrom<EndStatus>('good', 'good', 'good', 'bad', 'cancelled'),
  });

const scenario = fc.boolean().chain((ordered) =>
  fc.record({
    ordered: fc.constant(ordered),
    hosts: fc.integer({ min: 1, max: 3 }),
    before: fc.array(archived(ordered), { maxLength: 25 }),
    /** `?status=`, or none; and how many archived runs a host reads for one filtered slice. */
    filter: fc.option(fc.subarray<EndStatus>(['good', 'bad', 'cancelled'], { minLength: 1 }), { nil: undefined }),
    scanMax: fc.integer({ min: 1, max: 8 }),
    /** Per page turn: the page size, and the runs archived before the next page is asked for. */
    turns: fc.array(fc.record({ limit: fc.integer({ min: 1, max: 5 }), meanwhile: fc.array(archived(ordered), { maxLength: 3 }) }), {
      minLength: 30,
      maxLength: 30,
    }),
  }),
);

function localRuns(store: MemoryStore): LocalRuns {
  return {
    listPending: () => [],
    activeSummaries: () => [],
    listArchive: (q) => store.listArchive(q),
    findRun: (run) => store.getRun(run),
    getOutput: (run, q) => store.getOutput(run, q),
    cancel: async () => {},
    rerun: async () => [],
    answerData: async () => {},
  };
}

/** Hosts h0 (asking) to h2, each with a store, answering through the same parsing as over HTTP. */
function cluster(count: number, scanMax: number) {
  const urls = Array.from({ length: count }, (_, i) => `http://h${i}.test`);
  const stores = urls.map(() => new MemoryStore());
  const m = new Membership({ selfUrl: urls[0]!, selfName: 'h0', hosts: urls, offlineAfterMs: 1e9, now: 0 });
  for (const [i, url] of urls.entries()) {
    if (i === 0) continue;
    m.heard(
      {
        name: `h${i}`,
        url,
        boot: 'b',
        version: 'v',
        protocol: PROTOCOL_VERSION,
        tags: [],
        hostsKey: m.hostsKey,
        load: { active: 0, pending: 0, maxRuns: null },
        runs: { pending: [], active: [] },
        heldTags: [],
        known: [],
      },
      0,
    );
  }
  const sendNow = async (url: string, req: PeerRequest): Promise<PeerReply> => {
    const parsed = parsePeerRequest(JSON.parse(JSON.stringify(req)));
    if (typeof parsed === 'string' || !isRunRequest(parsed)) throw new Error(`not a run request: ${JSON.stringify(parsed)}`);
    const reply = await answerRunRequest(localRuns(stores[urls.indexOf(url)]!), urls, parsed, scanMax);
    return parsePeerReply(JSON.parse(JSON.stringify(reply)));
  };
  const views = new ClusterViews(localRuns(stores[0]!), { membership: m, selfUrl: urls[0]!, sendNow }, manualClock(), 'h0', {
    scanMax,
  });
  let end = 1_000;
  let n = 0;
  const archive = async (a: Archived, hosts: number): Promise<RunRecord> => {
    const host = a.host % hosts;
    end += a.gap;
    const record: RunRecord = {
      ref: { flowRef: { id: a.flow, ver: 1 }, run: `h${host}-${++n}` },
      adoptedBy: `h${host}`,
      execHost: `h${host}`,
      status: a.status,
      trigger: { id: 'start', type: 'data', values: {} },
      createdAt: end - 1,
      startTime: end - 1,
      endTime: end,
      nodes: {},
    };
    await stores[host]!.addPend(record);
    await stores[host]!.archive(record);
    return record;
  };
  return { views, archive };
}

test('merged archive pages list every run once, in each host’s order, by end time across hosts', async () => {
  await fc.assert(
    fc.asyncProperty(scenario, async ({ ordered, hosts, before, filter, scanMax, turns }) => {
      const c = cluster(hosts, scanMax);
      const initial: RunRecord[] = [];
      for (const a of before) initial.push(await c.archive(a, hosts));
      const ofFlow = initial.filter((r) => r.ref.flowRef.id === 'f');
      const mine = ofFlow.filter((r) => !filter || filter.includes(r.status as EndStatus));
      // A host with one run of the flow cannot say where that run lies, so its later runs may show.
      const loose = new Set(
        [...Array(hosts).keys()].filter((h) => ofFlow.filter((r) => r.adoptedBy === `h${h}`).length <= 1).map((h) => `h${h}`),
      );

      const shown: string[] = [];
      const statuses = new Set<string>();
      let page: RunListing | undefined;
      // A filtered page may hold fewer runs than asked, or none: a host reads only `scanMax` runs for it.
      for (let i = 0; i < 400; i++) {
        const turn = turns[i % turns.length]!;
        const cursor = page?.next === undefined ? undefined : c.views.readCursor(String(page.next));
        if (page && !cursor) break;
        page = await c.views.listRuns({ flow: 'f', limit: turn.limit, before: cursor, status: filter });
        assert.ok(page.archive.length <= turn.limit);
        if (!filter) assert.ok(page.next === undefined || page.archive.length === turn.limit, 'unfiltered, only a last page is short');
        assert.deepEqual(page.unreachable, []);
        shown.push(...page.archive.map((r) => r.ref.run));
        for (const r of page.archive) statuses.add(r.status);
        if (i < turns.length) for (const a of turn.meanwhile) await c.archive(a, hosts);
      }
      assert.equal(page?.next, undefined, 'paging ends');
      assert.equal(new Set(shown).size, shown.length, `no run twice: ${shown.join(' ')}`);
      for (const s of statuses) assert.ok(!filter || filter.includes(s as EndStatus), `a ${s} run is not in ${filter?.join(',')}`);
      const initialIds = new Set(mine.map((r) => r.ref.run));
      assert.deepEqual(shown.filter((id) => initialIds.has(id)).sort(), [...initialIds].sort(), 'every run archived before the first page');
      for (const id of shown) {
        if (!initialIds.has(id)) assert.ok(loose.has(id.split('-')[0]!), `${id} was archived after the first page`);
      }
      const byId = new Map(mine.map((r) => [r.ref.run, r]));
      const order = shown.filter((id) => initialIds.has(id));
      for (let h = 0; h < hosts; h++) {
        const seq = order.filter((id) => id.startsWith(`h${h}-`)).map((id) => Number(id.split('-')[1]));
        assert.deepEqual(
          seq,
          [...seq].sort((a, b) => b - a),
          `h${h}'s runs newest archived first`,
        );
      }
      if (ordered) {
        const ends = order.map((id) => byId.get(id)!.endTime!);
        assert.deepEqual(
          ends,
          [...ends].sort((a, b) => b - a),
          'newest ended first',
        );
      }
    }),
    fuzzParams(300),
  );
});
