import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findSelfUrl } from '../../src/host/self-url.js';
import { parseBind } from '../../src/server/parse-bind.js';

const README = ['http://127.0.0.1:8080', 'http://127.0.0.1:8090'];

const CASES: Array<{
  rule: string;
  hosts: string[];
  /** As -prv_bind takes it. */
  bind: string;
  tls?: boolean;
  local?: string[];
  want: string | undefined;
}> = [
  { rule: 'the entry with the bind host and port', hosts: README, bind: '127.0.0.1:8090', want: 'http://127.0.0.1:8090' },
  {
    rule: 'the entry is returned as written, trailing slash and all',
    hosts: ['http://127.0.0.1:8080/'],
    bind: '127.0.0.1:8080',
    want: 'http://127.0.0.1:8080/',
  },
  { rule: 'no entry has the port', hosts: README, bind: '127.0.0.1:8070', want: undefined },
  { rule: 'a port 0 bind is never listed', hosts: ['http://127.0.0.1:0', ...README], bind: '127.0.0.1:0', want: undefined },
  {
    rule: 'any loopback name stands for a loopback bind',
    hosts: ['http://localhost:8080'],
    bind: '127.0.0.1:8080',
    want: 'http://localhost:8080',
  },
  { rule: 'an IPv6 loopback entry for a localhost bind', hosts: ['http://[::1]:8080'], bind: 'localhost:8080', want: 'http://[::1]:8080' },
  {
    rule: 'an IPv6 bind matches its bracketed entry',
    hosts: ['http://[fd00::2]:8080'],
    bind: '[fd00::2]:8080',
    want: 'http://[fd00::2]:8080',
  },
  { rule: 'another address is another host', hosts: ['http://10.0.0.2:8080'], bind: '10.0.0.1:8080', want: undefined },
  { rule: 'a loopback entry is not a LAN bind', hosts: ['http://127.0.0.1:8080'], bind: '10.0.0.1:8080', want: undefined },
  {
    rule: 'host names compare without case',
    hosts: ['http://CI1.example.com:8080'],
    bind: 'ci1.example.com:8080',
    want: 'http://CI1.example.com:8080',
  },
  {
    rule: 'a wildcard bind takes any name on its port',
    hosts: ['http://ci1.example.com:8080'],
    bind: '0.0.0.0:8080',
    want: 'http://ci1.example.com:8080',
  },
  { rule: 'an IPv6 wildcard bind too', hosts: ['http://10.0.0.1:8080'], bind: '[::]:8080', want: 'http://10.0.0.1:8080' },
  {
    rule: 'the scheme must match: https for a TLS bind',
    hosts: ['http://127.0.0.1:8080'],
    bind: '127.0.0.1:8080',
    tls: true,
    want: undefined,
  },
  {
    rule: 'https entry for a TLS bind',
    hosts: ['https://127.0.0.1:8443'],
    bind: '127.0.0.1:8443',
    tls: true,
    want: 'https://127.0.0.1:8443',
  },
  {
    rule: 'an entry without a port has its scheme default',
    hosts: ['https://ci1.example.com'],
    bind: '0.0.0.0:443',
    tls: true,
    want: 'https://ci1.example.com',
  },
  {
    rule: 'a malformed entry is skipped',
    hosts: ['not a url', 'http://127.0.0.1:8080'],
    bind: '127.0.0.1:8080',
    want: 'http://127.0.0.1:8080',
  },
  {
    rule: 'of several entries a wildcard bind fits, the one naming this machine',
    hosts: ['http://10.0.0.1:8080', 'http://10.0.0.2:8080'],
    bind: '0.0.0.0:8080',
    local: ['10.0.0.2', 'fe80::1'],
    want: 'http://10.0.0.2:8080',
  },
  {
    rule: 'of several entries a wildcard bind fits and none names this machine, none: it would answer for another host',
    hosts: ['http://10.0.0.1:8080', 'http://10.0.0.2:8080'],
    bind: '0.0.0.0:8080',
    local: ['10.0.0.9'],
    want: undefined,
  },
];

for (const c of CASES) {
  test(`findSelfUrl: ${c.rule}`, () => {
    const bind = parseBind(c.bind);
    assert.ok(bind, c.bind);
    assert.equal(findSelfUrl(c.hosts, bind, c.tls ?? false, c.local), c.want);
  });
}
