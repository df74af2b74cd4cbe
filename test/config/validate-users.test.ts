import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check, runTable, yaml } from './check.js';

/** The hash of "correct horse", as `floe hash-password` printed it. */
const HASH = 'scrypt$16384$8$1$Mcwy/a6L4E8vxqp9VoLQtA==$OvpFx0nX83zSx6yfgUkvYQ2Ae3hCDMttPOBfixI8KGo=';

function users(...lines: string[]): string {
  return ['common:', '  users:', ...lines.map((l) => `    ${l}`), ''].join('\n');
}

runTable([
  { rule: 'users must be a list', text: 'common:\n  users: ana\n', error: /2:10: error: common\.users: users must be a list/, alone: true },
  { rule: 'a user must be a map', text: users('- ana'), error: /3:7: error: common\.users\[0\]: a user must be a map/, alone: true },
  {
    rule: 'a user needs a user name',
    text: users(`- password: ${HASH}`),
    error: /3:7: error: common\.users\[0\]\.user: a user needs a user name/,
    alone: true,
  },
  {
    rule: 'a user name must not be empty',
    text: users(`- { user: "", password: ${HASH} }`),
    error: /3:15: error: common\.users\[0\]\.user: user must not be empty/,
    alone: true,
  },
  {
    rule: 'a user name must be a string',
    text: users(`- { user: [a], password: ${HASH} }`),
    error: /common\.users\[0\]\.user: user must be a string/,
    alone: true,
  },
  {
    rule: 'user names are unique, and the repeat names the first place',
    text: users(`- { user: ana, password: ${HASH} }`, `- { user: ana, password: ${HASH}, role: viewer }`),
    error:
      /^floe\.yml:4:15: error: common\.users\[1\]\.user: user "ana" is already defined at floe\.yml:3:15 \(common\.users\[0\]\.user\); user names must be unique$/,
    alone: true,
  },
  {
    rule: 'a user needs a password hash',
    text: users('- user: ana'),
    error:
      /3:7: error: common\.users\[0\]\.password: a user needs a password: the scrypt hash of one \(run `floe hash-password` to make one\)/,
    alone: true,
  },
  {
    rule: 'a plaintext password is an error that says how to make a hash',
    text: users('- user: ana', '  password: hunter2'),
    error:
      /4:17: error: common\.users\[0\]\.password: password must be a scrypt hash, not the password itself \(run `floe hash-password` to make one\)$/,
    alone: true,
  },
  {
    rule: 'a malformed hash says what is wrong with it',
    text: users('- user: ana', `  password: ${HASH.replace('$16384$', '$1000$')}`),
    error: /common\.users\[0\]\.password: password is a malformed scrypt hash: N must be a power of two .*floe hash-password/,
    alone: true,
  },
  {
    rule: 'a password must be a string',
    text: users('- user: ana', '  password: 123456'),
    error: /4:17: error: common\.users\[0\]\.password: password must be a scrypt hash string/,
    alone: true,
  },
  {
    rule: 'role is admin, user or viewer',
    text: users(`- { user: ana, password: ${HASH}, role: viewr }`),
    error: /common\.users\[0\]\.role: role must be one of admin, user, viewer, got "viewr"; did you mean "viewer"\?/,
    alone: true,
  },
  {
    rule: 'an unknown user key is a warning',
    text: users(`- { user: ana, password: ${HASH}, rol: viewer }`),
    warning: /common\.users\[0\]\.rol: unknown key "rol" in a user, ignored; did you mean "role"\?/,
  },
  {
    rule: 'session-ttl must be positive',
    text: 'common:\n  session-ttl: 0\n',
    error: /2:16: error: common\.session-ttl: session-ttl must be a positive number of seconds, got number 0/,
    alone: true,
  },
  {
    rule: 'session-ttl must be a number',
    text: 'common:\n  session-ttl: 12h\n',
    error: /common\.session-ttl: session-ttl must be a positive number of seconds/,
    alone: true,
  },
  {
    rule: 'session-ttl is at most a year',
    text: 'common:\n  session-ttl: 1e12\n',
    error: /common\.session-ttl: session-ttl must be at most 31536000 seconds/,
    alone: true,
  },
]);

test('users are read with role user by default, in file order', () => {
  const r = check(yaml`
    common:
      session-ttl: 90
      users:
        - user: ana
          password: ${HASH}
          role: admin
        - user: bo
          password: ${HASH}
        - { user: cy, password: "${HASH}", role: viewer }
  `);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.config?.common.users, [
    { user: 'ana', password: HASH, role: 'admin' },
    { user: 'bo', password: HASH, role: 'user' },
    { user: 'cy', password: HASH, role: 'viewer' },
  ]);
  assert.equal(r.config?.common.sessionTtlSec, 90);
});

test('no problem message ever quotes what was written as a password', () => {
  const secrets = ['hunter2', 'scrypt$1$2$3$hunter3$x', '987654321', 'scrypt$16384$8$1$c2VjcmV0$c2VjcmV0'];
  for (const secret of secrets) {
    const r = check(
      users('- user: ana', `  password: "${secret}"`, `- user: ana`, `  password: ${JSON.stringify(secret)}`, '  role: nope'),
    );
    assert.ok(r.errors.length >= 2, secret);
    for (const p of r.problems) assert.ok(!p.message.includes(secret) && !p.message.includes('hunter'), p.message);
  }
  const numeric = check(users('- user: ana', '  password: 987654321'));
  for (const p of numeric.problems) assert.ok(!p.message.includes('987654321'), p.message);
});
