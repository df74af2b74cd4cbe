import { quoteValue } from '../quote-value.js';

/** Ids end up in URLs and event tags (`task.<id>.good`), so they hold no dots or spaces. */
const URL_FRIENDLY = /^[A-Za-z0-9_-]+$/;

/** `"Wait For Tests and Sign Off"` -> `"wait-for-tests-and-sign-off"`: lowercase, runs of other characters become `-`. */
export function idFromName(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** `"sign-off"` -> `"Sign Off"`: the display name of a node given only an id. */
export function nameFromId(id: string): string {
  return id
    .split(/[-_\s]+/)
    .filter((w) => w.length > 0)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join(' ');
}

/** Whether an id as written can be used as is: letters, digits, `-` and `_` only. */
export function isUrlFriendlyId(id: string): boolean {
  return URL_FRIENDLY.test(id);
}

export type IdAndName = { id: string; name: string } | { error: string };

/**
 * Resolve a node's or flow's id and name from what was written; either may be missing but
 * not both. An explicit id must be url friendly.
 */
export function resolveIdAndName(id: string | undefined, name: string | undefined): IdAndName {
  if (id === undefined && name === undefined) return { error: 'needs an id or a name' };
  if (id !== undefined) {
    if (!isUrlFriendlyId(id)) {
      const better = idFromName(id);
      const hint = better ? `; try ${quoteValue(better)}` : '';
      return { error: `id ${quoteValue(id)} must hold only letters, digits, '-' and '_'${hint}` };
    }
    return { id, name: name ?? nameFromId(id) };
  }
  const made = idFromName(name!);
  if (!made) return { error: `cannot make an id from name ${quoteValue(name!)}; give an id` };
  return { id: made, name: name! };
}
