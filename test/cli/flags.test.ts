import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlagError, HOST_FLAGS, parseFlags } from '../../src/cli/flags.js';
import { parseBind } from '../../src/server/parse-bind.js';

const parse = (...argv: string[]) => parseFlags(argv, HOST_FLAGS).values;

test('every spelling of a flag gives the same value', () => {
  for (const argv of [['-host_name=h2'], ['--host_name=h2'], ['-host_name', 'h2'], ['--host_name', 'h2']]) {
    assert.equal(parse(...argv).host_name, 'h2', argv.join(' '));
  }
});

test("defaults are floe's: default.yml, h1, tags master, dev off", () => {
  const v = parse();
  assert.equal(v.conf, 'default.yml');
  assert.equal(v.host_name, 'h1');
  assert.deepEqual(v.tags, ['master']);
  assert.equal(v.dev, false);
  assert.equal(v.admin, undefined);
});

test('tags are a comma separated list; bool flags need no value', () => {
  const v = parse('-tags=linux,go,couch', '-dev', '-pub_bind=127.0.0.1:8080');
  assert.deepEqual(v.tags, ['linux', 'go', 'couch']);
  assert.equal(v.dev, true);
  assert.equal(v.pub_bind, '127.0.0.1:8080');
  assert.equal(parse('-dev=false').dev, false);
  assert.equal(parse('--dev', '-host_name=x').host_name, 'x', 'a bool flag does not eat the next argument');
});

test('bad flags are FlagErrors that say what is wrong', () => {
  const cases: Array<[string[], RegExp]> = [
    [['-hostname=h2'], /unknown flag -hostname \(did you mean -host_name\?\)/],
    [['--nope'], /unknown flag --nope/],
    [['-tags='], /comma separated list/],
    [['-tags=a,,b'], /comma separated list/],
    [['-pub_bind=8080'], /host:port/],
    [['-pub_bind=127.0.0.1:99999'], /host:port/],
    [['-dev=maybe'], /true or false/],
    [['-conf'], /needs a value/],
    [['-conf='], /needs a non-empty value/],
  ];
  for (const [argv, want] of cases) {
    assert.throws(
      () => parse(...argv),
      (e: unknown) => e instanceof FlagError && want.test(e.message),
      argv.join(' '),
    );
  }
});

test('binds accept host:port, [v6]:port and port 0', () => {
  assert.deepEqual(parseBind('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
  assert.deepEqual(parseBind('[::1]:8080'), { host: '::1', port: 8080 });
  assert.deepEqual(parseBind(':8080'), { host: '0.0.0.0', port: 8080 });
  assert.equal(parseBind('localhost'), undefined);
});
