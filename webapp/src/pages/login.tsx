import { useState } from 'preact/hooks';
import { navigate, place, to } from '../router.js';
import { login } from '../session.js';

/** Only a path of this app is followed after login: `next` comes from the address bar. */
function safeNext(next: string | null): string {
  return next && next.startsWith('/app/') && !next.startsWith('/app/login') && !next.includes('//') ? next : to.dash();
}

export function LoginPage() {
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  document.title = 'Log in · floe';

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await login(user, password);
      navigate(safeNext(place.value.query.get('next')), { replace: true });
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="login">
      <form class="panel" onSubmit={(e) => void submit(e)} aria-labelledby="login-title">
        <h1 id="login-title">floe</h1>
        <p class="muted">Log in with your user and password, or as admin with the admin token.</p>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <div class="field">
          <label for="login-user">User</label>
          <input
            id="login-user"
            name="user"
            autoComplete="username"
            required
            value={user}
            onInput={(e) => setUser(e.currentTarget.value)}
          />
        </div>
        <div class="field">
          <label for="login-password">Password or token</label>
          <input
            id="login-password"
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </div>
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
      </form>
    </main>
  );
}
