import type { FormField } from '../api-types.js';

/** Errors of one submit: by field id, and the rest (`''`) shown above the form. */
export type FormErrors = Record<string, string>;

/**
 * Which fields an API error is about. The host checks values with the same rules as for a
 * script, joins its complaints with `; ` and starts each with the field's id quoted (`bad
 * values for trigger start of flow hello: "count" must be an integer, got "x"; "who" is
 * required`); each part is shown next to its field, and what names no field above the form.
 * Values are quoted with their own quotes escaped, so a `; "` can only start a new part, and
 * the field a part is about is the one it starts with, not one its value happens to name.
 */
export function errorsByField(message: string, fields: FormField[]): FormErrors {
  const colon = message.indexOf(': ');
  const head = colon >= 0 ? message.slice(0, colon) : '';
  const parts = (colon >= 0 ? message.slice(colon + 2) : message).split(/; (?="[\w-]+" |unknown field )/);
  const out: FormErrors = {};
  const rest: string[] = [];
  for (const part of parts) {
    const f = fields.find((x) => part.startsWith(`"${x.id}" `)) ?? fields.find((x) => part.includes(`"${x.id}"`));
    if (f && out[f.id] === undefined) out[f.id] = part;
    else rest.push(part);
  }
  if (rest.length > 0 || Object.keys(out).length === 0)
    out[''] = head ? `${head}: ${rest.join('; ') || 'see the fields below'}` : rest.join('; ');
  return out;
}
