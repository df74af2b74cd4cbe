/**
 * Characters that would split a one-line message or make a terminal show something else:
 * C0 and C1 controls (newline, tab, the ESC of ANSI sequences), DEL, the Unicode line and
 * paragraph separators, and bidi overrides and isolates, which reorder what a reader sees.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeChar(c: string): string {
  return SHORT[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** `s` with every unsafe character written as its JSON escape (`\n`, `\u001b`), so it prints on one line. */
export function escapeControls(s: string): string {
  return s.replace(UNSAFE, escapeChar);
}

/** `s` as a JSON string that prints on one line: `a"b<newline>` becomes `"a\"b\n"`. */
export function quoteValue(s: string): string {
  return escapeControls(JSON.stringify(s));
}
