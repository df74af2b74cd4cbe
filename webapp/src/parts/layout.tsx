import type { ComponentChildren } from 'preact';
import { HOST_NAME } from '../api.js';
import { linkState, retryAt } from '../live.js';
import { Link, place, to } from '../router.js';
import { logout, me } from '../session.js';
import { now } from './status.js';

function NavLink({ href, label }: { href: string; label: string }) {
  const current = place.value.path === href || (href === to.dash() && place.value.path.startsWith('/app/flows/'));
  return (
    <Link href={href} aria-current={current ? 'page' : undefined}>
      {label}
    </Link>
  );
}

/** Says when the page is not live: while reconnecting, what it shows may be behind. */
function LinkBanner() {
  const state = linkState.value;
  // Counts down with the page's one-second clock.
  const secondsLeft = Math.ceil((retryAt.value - now.value) / 1000);
  return (
    <div class={`link-state ${state}`} role="status" aria-live="polite" data-link={state}>
      {state === 'live' ? (
        <span class="dot" title="live">
          live
        </span>
      ) : state === 'connecting' ? (
        'connecting…'
      ) : (
        `connection lost; reconnecting${secondsLeft > 0 ? ` in ${secondsLeft} s` : ''}…`
      )}
    </div>
  );
}

/** Every page but login: the header with navigation, the user, the link state; then the page. */
export function Layout({ title, children }: { title: string; children: ComponentChildren }) {
  document.title = `${title} · floe`;
  const user = me.value;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <Link href={to.dash()} class="brand" aria-label="floe dashboard">
          floe
        </Link>
        <nav aria-label="Main">
          <NavLink href={to.dash()} label="Dashboard" />
          <NavLink href={to.hosts()} label="Hosts" />
        </nav>
        <LinkBanner />
        <div class="who">
          {HOST_NAME && <span class="muted">on {HOST_NAME}</span>}
          {user && (
            <>
              <span>
                {user.user} <span class="muted">({user.role})</span>
              </span>
              <button type="button" class="link" onClick={() => void logout()}>
                Log out
              </button>
            </>
          )}
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <h1>{title}</h1>
        {children}
      </main>
    </>
  );
}

/** A failed load, said plainly, with a way to try again. */
export function LoadError({ message, retry }: { message: string; retry: () => void }) {
  return (
    <div class="panel error-panel" role="alert">
      <p>Could not load: {message}</p>
      <button type="button" onClick={retry}>
        Try again
      </button>
    </div>
  );
}

export function Loading() {
  return (
    <p class="muted" aria-busy="true">
      Loading…
    </p>
  );
}
