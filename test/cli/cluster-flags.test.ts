import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlagError, HOST_FLAGS, parseFlags } from '../../src/cli/flags.js';

const parse = (...argv: string[]) => parseFlags(argv, HOST_FLAGS).values;

test('-max_runs is a whole number from 1; unset, there is no limit', () => {
  assert.equal(parse().max_runs, undefined);
  assert.equal(parse('-max_runs=4').max_runs, 4);
  assert.equal(parse('--max-runs', '12').max_runs, 12);
  for (const bad of ['0', '-1', '1.5', '1e3', '0x10', ' 7', 'four', '', '9999999999999999']) {
    assert.throws(
      () => parse(`-max_runs=${bad}`),
      (e: unknown) =>
        e instanceof FlagError && e.message.startsWith(`flag -max_runs is a whole number from 1 (`) && e.message.endsWith(`got "${bad}"`),
      bad,
    );
  }
});

test('-cluster_token is a non-empty string; unset, the host uses the admin token', () => {
  assert.equal(parse().cluster_token, undefined);
  assert.equal(parse('-cluster_token=s3cret').cluster_token, 's3cret');
  assert.throws(() => parse('-cluster_token='), /flag -cluster_token needs a non-empty value/);
});
