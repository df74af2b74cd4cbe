import type { FormConfig, FormField, FormFieldType } from '../model/form.js';
import type { OptsCheck } from '../nodes/node-type.js';
import { isUrlFriendlyId } from './ids.js';
import { didYouMean } from './suggest.js';
import { quoteValue } from '../quote-value.js';
import { SECRET_SHOWN } from '../model/secret-values.js';

export const FORM_KEYS = ['title', 'fields'] as const;
export const FORM_FIELD_KEYS = ['id', 'prompt', 'type', 'value', 'options', 'required', 'secret'] as const;
export const FORM_FIELD_TYPES: readonly FormFieldType[] = ['text', 'string', 'bool', 'int', 'number'];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isFieldType(v: unknown): v is FormFieldType {
  return typeof v === 'string' && (FORM_FIELD_TYPES as readonly string[]).includes(v);
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'string') return `string ${quoteValue(v)}`;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return `${typeof v} ${String(v)}`;
  return typeof v; // a function or symbol: never parsed from a request or config
}

/** A single submitted or default value as the string a run carries; undefined for lists and maps. */
function scalarText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/** Why `value` does not fit `field`, or the normalised value. */
function checkValue(field: FormField, value: string): { value: string } | { error: string } {
  const typed = checkType(field, value);
  if ('error' in typed || !field.options || field.options.includes(typed.value)) return typed;
  return { error: `${quoteValue(field.id)} must be one of ${field.options.map(quoteValue).join(', ')}, got ${quotedValue(field, value)}` };
}

/** A value as an error quotes it: errors go back to whoever sent it, and may be logged or relayed on the way. */
function quotedValue(field: FormField, value: string): string {
  return field.secret ? SECRET_SHOWN : quoteValue(value);
}

function checkType(field: FormField, value: string): { value: string } | { error: string } {
  const s = value.trim();
  const got = quotedValue(field, value);
  switch (field.type) {
    case 'bool':
      if (!/^(true|false)$/i.test(s)) return { error: `${quoteValue(field.id)} must be true or false, got ${got}` };
      return { value: s.toLowerCase() };
    case 'int':
      if (!/^[+-]?\d+$/.test(s)) return { error: `${quoteValue(field.id)} must be an integer, got ${got}` };
      return { value: s };
    case 'number':
      if (s === '' || !Number.isFinite(Number(s))) return { error: `${quoteValue(field.id)} must be a number, got ${got}` };
      return { value: s };
    case 'text':
    case 'string':
      return { value };
  }
}

/**
 * Parse a data form (`{title, fields: [...]}`) from a trigger's or data node's opts.
 * Problems go to `check` under `field` (e.g. `form.fields[1].type`); returns undefined when
 * `raw` is absent or has errors.
 */
export function parseForm(raw: unknown, check: OptsCheck, field: string): FormConfig | undefined {
  if (raw === undefined || raw === null) return undefined;
  let errors = 0;
  const error = (f: string, message: string): void => {
    errors++;
    check.error(f, message);
  };
  if (!isRecord(raw)) {
    error(field, `${field} must be a map with title and fields, got ${describe(raw)}`);
    return undefined;
  }
  warnUnknown(raw, FORM_KEYS, field, check, 'a form');
  let title = '';
  if (raw.title !== undefined && raw.title !== null) {
    if (typeof raw.title === 'string') title = raw.title;
    else error(`${field}.title`, `title must be a string, got ${describe(raw.title)}`);
  }
  if (!Array.isArray(raw.fields)) {
    const got = raw.fields === undefined ? 'none' : describe(raw.fields);
    error(`${field}.fields`, `a form needs fields: a list of {id, prompt, type}, got ${got}`);
    return undefined;
  }
  const fields: FormField[] = [];
  const seen = new Map<string, number>();
  raw.fields.forEach((item: unknown, i: number) => {
    const at = `${field}.fields[${i}]`;
    const f = parseField(item, at, check, error);
    if (f === undefined) return;
    const first = seen.get(f.id.toLowerCase());
    if (first !== undefined) error(`${at}.id`, `field id ${quoteValue(f.id)} repeats fields[${first}] (ids match case-insensitively)`);
    seen.set(f.id.toLowerCase(), i);
    fields.push(f);
  });
  return errors === 0 ? { title, fields } : undefined;
}

function parseField(item: unknown, at: string, check: OptsCheck, error: (field: string, message: string) => void): FormField | undefined {
  if (!isRecord(item)) {
    error(at, `a form field must be a map with id, prompt and type, got ${describe(item)}`);
    return undefined;
  }
  warnUnknown(item, FORM_FIELD_KEYS, at, check, 'a form field');
  const { id, prompt, type } = item;
  let ok = true;
  const fail = (f: string, message: string): void => {
    ok = false;
    error(`${at}.${f}`, message);
  };
  if (typeof id !== 'string') fail('id', `a form field needs an id (string), got ${describe(id)}`);
  else if (!isUrlFriendlyId(id)) fail('id', `field id ${quoteValue(id)} must hold only letters, digits, '-' and '_'`);
  if (typeof prompt !== 'string') fail('prompt', `a form field needs a prompt (string), got ${describe(prompt)}`);
  if (typeof type !== 'string') {
    fail('type', `a form field needs a type (${FORM_FIELD_TYPES.join(', ')}), got ${describe(type)}`);
  } else if (!isFieldType(type)) {
    fail('type', `unknown field type ${quoteValue(type)} (known: ${FORM_FIELD_TYPES.join(', ')})${didYouMean(type, FORM_FIELD_TYPES)}`);
  }
  let options: string[] | undefined;
  if (item.options !== undefined && item.options !== null) {
    const texts = Array.isArray(item.options) ? item.options.map(scalarText) : [];
    if (!Array.isArray(item.options) || texts.length === 0 || texts.some((t) => t === undefined)) {
      fail('options', `options must be a non-empty list of values, got ${describe(item.options)}`);
    } else {
      options = texts.filter((t): t is string => t !== undefined);
    }
  }
  let required: boolean | undefined;
  if (item.required !== undefined && item.required !== null) {
    if (typeof item.required === 'boolean') required = item.required;
    else fail('required', `required must be true or false, got ${describe(item.required)}`);
  }
  let secret: boolean | undefined;
  if (item.secret !== undefined && item.secret !== null) {
    if (typeof item.secret === 'boolean') secret = item.secret;
    else fail('secret', `secret must be true or false, got ${describe(item.secret)}`);
  }
  if (secret) {
    // GET /flows shows a form's defaults and options to every client, viewers included.
    if (item.value !== undefined && item.value !== null)
      fail('value', 'a secret field cannot have a default value: it would be shown with the form; give it when the run starts');
    if (item.options !== undefined && item.options !== null)
      fail('options', 'a secret field cannot have options: they would be shown with the form');
  }
  if (!ok || typeof id !== 'string' || typeof prompt !== 'string' || !isFieldType(type)) return undefined;
  const f: FormField = { id, prompt, type };
  if (options) f.options = options;
  if (required !== undefined) f.required = required;
  if (secret) f.secret = true;
  if (item.value !== undefined && item.value !== null) {
    const text = scalarText(item.value);
    const checked = text === undefined ? { error: `value must be a single value, got ${describe(item.value)}` } : checkValue(f, text);
    if ('error' in checked) {
      error(`${at}.value`, `default ${checked.error}`);
      return undefined;
    }
    f.value = checked.value;
  }
  return f;
}

function warnUnknown(raw: Record<string, unknown>, known: readonly string[], at: string, check: OptsCheck, what: string): void {
  for (const key of Object.keys(raw)) {
    if (known.includes(key)) continue;
    const hint = didYouMean(key, known) || ` (known: ${known.join(', ')})`;
    check.warn(`${at}.${key}`, `unknown key ${quoteValue(key)} in ${what}, ignored${hint}`);
  }
}

export type FormValuesResult = { values: Record<string, string> } | { errors: string[] };

/**
 * Check values submitted for a form: every key must name a field (case-insensitively), each
 * value must fit its field's type, required fields must be given; defaults fill the rest.
 * Values come back as strings keyed by the fields' own ids.
 */
export function checkFormValues(form: FormConfig, values: Record<string, unknown>): FormValuesResult {
  const errors: string[] = [];
  const out: Record<string, string> = {};
  const byId = new Map(form.fields.map((f) => [f.id.toLowerCase(), f]));
  for (const [key, raw] of Object.entries(values)) {
    const field = byId.get(key.toLowerCase());
    if (field === undefined) {
      const ids = form.fields.map((f) => f.id);
      errors.push(`unknown field ${quoteValue(key)} (fields: ${ids.join(', ') || 'none'})${didYouMean(key, ids)}`);
      continue;
    }
    if (raw === undefined || raw === null) continue;
    const text = scalarText(raw);
    // A blank answer is no answer: the default or the required check applies.
    if (text !== undefined && text.trim() === '') continue;
    if (text === undefined) {
      errors.push(`${quoteValue(field.id)} must be a single value, got ${describe(raw)}`);
      continue;
    }
    const checked = checkValue(field, text);
    if ('error' in checked) errors.push(checked.error);
    else out[field.id] = checked.value;
  }
  for (const field of form.fields) {
    if (out[field.id] !== undefined) continue;
    if (field.value !== undefined) out[field.id] = field.value;
    else if (field.required && !errors.some((e) => e.startsWith(quoteValue(field.id)))) errors.push(`${quoteValue(field.id)} is required`);
  }
  return errors.length > 0 ? { errors } : { values: out };
}
