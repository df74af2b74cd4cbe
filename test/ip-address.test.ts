import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlockList } from 'node:net';
import fc from 'fast-check';
import { addressBytes, hasHostBits, mappedIPv4, networkOf, samePrefix } from '../src/ip-address.js';

test('addressBytes reads every spelling of an address as node:net does: written back, BlockList finds the same address', () => {
  fc.assert(
    fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (address) => {
      const bytes = addressBytes(address)!;
      const family = bytes.length === 4 ? 'ipv4' : 'ipv6';
      assert.equal(bytes.length, address.includes(':') ? 16 : 4);
      const list = new BlockList();
      list.addAddress(address, family);
      assert.ok(list.check(networkOf(bytes, bytes.length * 8), family), `${address} -> ${networkOf(bytes, bytes.length * 8)}`);
    }),
    { numRuns: 2000 },
  );
});

test('networkOf clears the host bits, as a BlockList subnet does; hasHostBits and samePrefix agree with it', () => {
  fc.assert(
    fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), fc.nat(128), (address, n) => {
      const bytes = addressBytes(address)!;
      const prefix = n % (bytes.length * 8 + 1);
      const family = bytes.length === 4 ? 'ipv4' : 'ipv6';
      const net = networkOf(bytes, prefix);
      const list = new BlockList();
      list.addSubnet(net, prefix, family);
      assert.ok(list.check(address, family), `${address} in ${net}/${prefix}`);
      assert.equal(hasHostBits(bytes, prefix), net !== networkOf(bytes, bytes.length * 8));
      assert.ok(samePrefix(bytes, addressBytes(net)!, prefix));
    }),
    { numRuns: 2000 },
  );
});

test('mappedIPv4: ::ffff:0:0/96 in any spelling, zone or not; nothing else', () => {
  for (const a of ['::ffff:10.0.0.2', '::ffff:a00:2', '0:0:0:0:0:ffff:10.0.0.2', '::FFFF:A00:2', '::ffff:10.0.0.2%eth0'])
    assert.equal(mappedIPv4(a), '10.0.0.2', a);
  for (const a of ['10.0.0.2', '::1', '::a00:2', '::ffff:0:a00:2', '2001:db8::ffff:a00:2', 'nope'])
    assert.equal(mappedIPv4(a), undefined, a);
});
