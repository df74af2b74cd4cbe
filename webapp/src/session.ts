import { signal } from '@preact/signals';
import { ApiError, call, get, post, whenUnauthorized } from './api.js';
import { currentHref, navigate, place, to } from './router.js';

export type Role = 'admin' | 'user' | 'viewer';

export interface Me {
  user: string;
  role: Role;
  expires?: number;
}

/** The logged-in user; null when logged out, undefined until the host has said. */
export const me = signal<Me | null | undefined>(undefined);

/** Whether the user may start, cancel and answer things (a viewer only reads). */
export const canAct = (): boolean => me.value?.role === 'admin' || me.value?.role === 'user';

function toLogin(): void {
  const here = currentHref();
  me.value = null;
  if (place.value.path !== '/app/login') navigate(to.login(here), { replace: true });
}

// An expired session, a logout in another tab, a restarted host: back to login, then back here.
whenUnauthorized(toLogin);

/** Asks the host who the session is; sends the page to login when there is none. */
export async function loadSession(): Promise<void> {
  try {
    me.value = await get<Me>('/session');
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) toLogin();
    else throw err;
  }
}

export async function login(user: string, password: string): Promise<void> {
  const res = await call<{ user: string; role: Role }>('POST', '/login', { user, password });
  me.value = { user: res.payload.user, role: res.payload.role };
}

export async function logout(): Promise<void> {
  try {
    await post('/logout');
  } finally {
    me.value = null;
    navigate(to.login(), { replace: true });
  }
}
