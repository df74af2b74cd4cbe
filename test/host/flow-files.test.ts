import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyFlowFile } from '../../src/host/flow-files.js';
import { createLogger } from '../../src/host/logger.js';

test('flow-file references are a file, a file in a git repository, or a URL, as the README says', () => {
  const cases: Array<[string, ReturnType<typeof classifyFlowFile>]> = [
    ['floes/floe.yaml', { kind: 'file', path: 'floes/floe.yaml' }],
    ['git@github.com:floeit/floe.git/build/FLOE.yaml', { kind: 'git', url: 'git@github.com:floeit/floe.git', path: 'build/FLOE.yaml' }],
    ['https://github.com/floeit/floe.git/build/FLOE.yaml', { kind: 'git', url: 'https://github.com/floeit/floe.git', path: 'build/FLOE.yaml' }],
    ['file:///srv/repo.git/floe.yml', { kind: 'git', url: 'file:///srv/repo.git', path: 'floe.yml' }],
    ['https://raw.githubusercontent.com/floeit/floe/redesign/config.yaml', { kind: 'fetch', url: 'https://raw.githubusercontent.com/floeit/floe/redesign/config.yaml' }],
  ];
  for (const [ref, want] of cases) assert.deepEqual(classifyFlowFile(ref), want, ref);
});

test('an unknown log level is a clear error, not a stack trace', () => {
  assert.throws(() => createLogger({ level: 'loud', pretty: false }), /FLOE_LOG must be one of fatal, error, warn, info, debug, trace, silent; got "loud"/);
});
