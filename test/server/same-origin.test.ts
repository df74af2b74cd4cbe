import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isCrossOrigin } from '../../src/server/same-origin.js';
import { isCookieToken } from '../../src/server/request-token.js';

const ROWS: Array<{ name: string; method?: string; headers: Record<string, string>; cross: boolean }> = [
  { name: 'no Origin, no Sec-Fetch-Site (curl)', method: 'POST', headers: { host: 'h:8080' }, cross: false },
  { name: 'the same host and port', headers: { host: 'h:8080', origin: 'http://h:8080' }, cross: false },
  { name: 'another port', headers: { host: 'h:8080', origin: 'http://h:9999' }, cross: true },
  { name: 'a sibling subdomain', headers: { host: 'floe.example.com', origin: 'https://evil.example.com' }, cross: true },
  { name: 'a parent domain', headers: { host: 'floe.example.com', origin: 'https://example.com' }, cross: true },
  { name: 'a host name that only starts the same', headers: { host: 'h:8080', origin: 'http://h:8080.evil.example' }, cross: true },
  { name: 'https behind a TLS proxy', headers: { host: 'floe.example.com', origin: 'https://floe.example.com' }, cross: false },
  { name: 'case differs', headers: { host: 'Floe.Example.COM:8443', origin: 'https://FLOE.example.com:8443' }, cross: false },
  {
    name: 'a proxy that writes the default port into Host',
    headers: { host: 'floe.example.com:443', origin: 'https://floe.example.com' },
    cross: false,
  },
  {
    name: 'an https page, to Host with port 80 (another app)',
    headers: { host: 'floe.example:80', origin: 'https://floe.example' },
    cross: true,
  },
  {
    name: 'an http page, to Host with port 443 (another app)',
    headers: { host: 'floe.example:443', origin: 'http://floe.example' },
    cross: true,
  },
  { name: 'an https page on port 80, to a bare Host', headers: { host: 'floe.example', origin: 'https://floe.example:80' }, cross: true },
  { name: 'an http page on port 443, to a bare Host', headers: { host: 'floe.example', origin: 'http://floe.example:443' }, cross: true },
  { name: 'a wss page, to Host with port 80', headers: { host: 'floe.example:80', origin: 'wss://floe.example' }, cross: true },
  { name: 'a wss page, to Host with port 443', headers: { host: 'floe.example:443', origin: 'wss://floe.example' }, cross: false },
  { name: 'a ws page, to Host with port 80', headers: { host: 'floe.example:80', origin: 'ws://floe.example' }, cross: false },
  { name: 'an http page, to Host with port 80', headers: { host: 'floe.example:80', origin: 'http://floe.example' }, cross: false },
  { name: 'an http page, to a bare Host', headers: { host: 'floe.example', origin: 'http://floe.example' }, cross: false },
  {
    name: 'an https page that writes port 443, to a bare Host',
    headers: { host: 'floe.example', origin: 'https://floe.example:443' },
    cross: false,
  },
  { name: 'Host with port 080 is port 80', headers: { host: 'floe.example:080', origin: 'https://floe.example' }, cross: true },
  { name: 'IPv6, an https page, to Host with port 80', headers: { host: '[::1]:80', origin: 'https://[::1]' }, cross: true },
  { name: 'an Origin of a scheme with no default port', headers: { host: 'h:8080', origin: 'foo://h:8080' }, cross: true },
  { name: 'IPv6, same', headers: { host: '[::1]:8080', origin: 'http://[::1]:8080' }, cross: false },
  { name: 'IPv6, another port', headers: { host: '[::1]:8080', origin: 'http://[::1]:8081' }, cross: true },
  { name: 'an opaque origin (sandboxed frame)', headers: { host: 'h:8080', origin: 'null' }, cross: true },
  { name: 'an empty Origin', headers: { host: 'h:8080', origin: '' }, cross: true },
  { name: 'an Origin that is no URL', headers: { host: 'h:8080', origin: 'h:8080' }, cross: true },
  { name: 'Origin with no Host header to compare', headers: { origin: 'http://h:8080' }, cross: true },
  { name: 'two Origins joined', headers: { host: 'h:8080', origin: 'http://h:8080, http://evil:1' }, cross: true },
  { name: 'a POST with no Origin, same-site', method: 'POST', headers: { host: 'h:8080', 'sec-fetch-site': 'same-site' }, cross: true },
  {
    name: 'a DELETE with no Origin, cross-site',
    method: 'DELETE',
    headers: { host: 'h:8080', 'sec-fetch-site': 'Cross-Site' },
    cross: true,
  },
  {
    name: 'a POST with no Origin, same-origin',
    method: 'POST',
    headers: { host: 'h:8080', 'sec-fetch-site': 'same-origin' },
    cross: false,
  },
  {
    name: 'a POST with no Origin, none (typed by the user)',
    method: 'POST',
    headers: { host: 'h:8080', 'sec-fetch-site': 'none' },
    cross: false,
  },
  {
    name: 'a GET navigation from another site, no Origin',
    method: 'GET',
    headers: { host: 'h:8080', 'sec-fetch-site': 'cross-site' },
    cross: false,
  },
  {
    name: 'a HEAD from another site, no Origin',
    method: 'HEAD',
    headers: { host: 'h:8080', 'sec-fetch-site': 'cross-site' },
    cross: false,
  },
  {
    name: 'a GET with a foreign Origin',
    method: 'GET',
    headers: { host: 'h:8080', origin: 'http://h:1', 'sec-fetch-site': 'same-site' },
    cross: true,
  },
];

for (const row of ROWS) {
  test(`isCrossOrigin: ${row.name} -> ${row.cross}`, () => {
    assert.equal(isCrossOrigin(row.method ?? 'GET', row.headers), row.cross);
  });
}

test('isCookieToken: only when the token comes from the floe-sesh cookie, not the X-Floe-Auth header', () => {
  assert.equal(isCookieToken({ cookie: 'floe-sesh=abc' }), true);
  assert.equal(isCookieToken({ cookie: 'a=1; floe-sesh=%' }), true, 'an undecodable cookie is still the cookie');
  assert.equal(isCookieToken({ cookie: 'floe-sesh=abc', 'x-floe-auth': 'tok' }), false);
  assert.equal(isCookieToken({ cookie: 'floe-sesh=abc', 'x-floe-auth': '' }), true, 'an empty header is no header');
  assert.equal(isCookieToken({ cookie: 'other=1' }), false);
  assert.equal(isCookieToken({}), false);
});
