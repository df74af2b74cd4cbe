import path from 'node:path';
import Mustache from 'mustache';
import { ShellScanner } from './shell-scanner.js';
import { TemplateError } from './template-error.js';

export { shellQuote } from './shell-scanner.js';
export { TemplateError } from './template-error.js';

/** What a task field may refer to: `{{ws}}` and the run's template vars. */
export interface TemplateScope {
  /** Absolute workspace path. */
  workspace: string;
  /** Trigger values, data node answers (`{{node.field}}`). */
  vars: Record<string, unknown>;
}

/** Returns why `template` does not parse as mustache, or undefined when it does. */
export function checkTemplate(template: string): string | undefined {
  try {
    Mustache.parse(template);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/**
 * Go floe's workspace rule: a field that is `.` or starts with `./` means the workspace;
 * `./...` is Go's package wildcard and is left alone.
 */
export function expandLeadingDot(template: string): string {
  if (template === '.') return '{{ws}}';
  if (template.startsWith('./') && !template.startsWith('./...')) return `{{ws}}${template.slice(1)}`;
  return template;
}

function viewOf(scope: TemplateScope): Record<string, unknown> {
  return { ...scope.vars, ws: scope.workspace };
}

function asText(value: unknown): string {
  if (value === undefined || value === null) return '';
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- run values are JSON: an object renders as [object Object], as mustache does
  return typeof value === 'string' ? value : String(value);
}

function render(template: string, scope: TemplateScope): string {
  try {
    // escape in the render options, not Mustache.escape: others may share the module.
    return Mustache.render(template, viewOf(scope), undefined, { escape: asText });
  } catch (err) {
    throw new TemplateError(`template ${JSON.stringify(template)}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Renders one field value (a path, an argument, a url) with the leading-dot rule; no quoting. */
export function expandPath(template: string, scope: TemplateScope): string {
  return render(expandLeadingDot(template), scope);
}

/** Why a sub-dir as written can never be inside the workspace; templated ones are checked when rendered. */
export function subDirProblem(subDir: string): string | undefined {
  if (subDir.startsWith('{{')) return undefined;
  if (path.isAbsolute(subDir)) return 'must be relative to the workspace';
  if (path.normalize(subDir).split(path.sep)[0] === '..') return 'must not leave the workspace';
  return undefined;
}

/** Renders a sub-dir field to an absolute path; throws if it leaves the workspace. */
export function resolveSubDir(template: string, scope: TemplateScope): string {
  const dir = path.resolve(scope.workspace, expandPath(template, scope));
  const rel = path.relative(scope.workspace, dir);
  if (rel.startsWith('..') || path.isAbsolute(rel)) throw new TemplateError(`sub-dir ${template} is outside the workspace`);
  return dir;
}

/** Renders `KEY=value`: only the value is a template. */
export function renderEnvEntry(entry: string, scope: TemplateScope): [key: string, value: string] {
  const eq = entry.indexOf('=');
  if (eq <= 0) throw new TemplateError(`env entry ${JSON.stringify(entry)} is not KEY=value`);
  return [entry.slice(0, eq), expandPath(entry.slice(eq + 1), scope)];
}

/** Splits on whitespace as Go floe did, except inside `{{ }}` tags so `{{ name }}` stays one word. */
export function splitWords(cmd: string): string[] {
  const words: string[] = [];
  let word = '';
  let i = 0;
  while (i < cmd.length) {
    if (cmd.startsWith('{{', i)) {
      const close = cmd.startsWith('{{{', i) ? '}}}' : '}}';
      const end = cmd.indexOf(close, i + 2);
      const stop = end < 0 ? cmd.length : end + close.length;
      word += cmd.slice(i, stop);
      i = stop;
    } else if (/\s/.test(cmd.charAt(i))) {
      if (word !== '') words.push(word);
      word = '';
      i++;
    } else {
      word += cmd[i++];
    }
  }
  if (word !== '') words.push(word);
  return words;
}

/**
 * The argv of a `cmd` task: the template is split into words before rendering, so a value
 * with spaces stays one argument; each `args` entry is one more argument.
 */
export function renderArgv(cmd: string, args: readonly string[], scope: TemplateScope): string[] {
  const words = splitWords(expandLeadingDot(cmd)).map((w) => render(w, scope));
  return [...words, ...args.map((a) => expandPath(a, scope))];
}

/**
 * Renders a line for `sh -c` so that no value can change its syntax: each value is quoted
 * for the quoting context it lands in (bare, "double", 'single', comment, here-document,
 * `backticks`), and in a script another shell will parse (`bash -c '...'`, eval's arguments)
 * for the context inside that script too. `args` are appended as values, one word each.
 * Where the context can't be known for sure it throws rather than guess.
 */
export function renderShell(template: string, scope: TemplateScope, args: readonly string[] = []): string {
  return renderShellWith(template, viewOf(scope), args, (token, context) => asText(context.lookup(tokenText(token))));
}

/**
 * Why a `shell` line can never be rendered safely whatever the values (a value after `$x`
 * inside `bash -c "..."`, inside `${...}`, ...), or undefined. Renders once with every section
 * shown and a plain placeholder for each value, so refusals that depend on a value (a
 * non-integer in `$(( ))`) are left to run time.
 */
export function shellLineProblem(template: string, args: readonly string[] = []): string | undefined {
  try {
    renderShellWith(
      template,
      {},
      args.map(() => '0'),
      () => '0',
      true,
    );
    return undefined;
  } catch (err) {
    return err instanceof TemplateError ? err.message : undefined;
  }
}

/** A Mustache token's second entry: the name of a value, or the text of a text token. */
function tokenText(token: string[]): string {
  const text = token[1];
  if (text === undefined) throw new Error(`internal: Mustache token ${JSON.stringify(token)} has no name or text`);
  return text;
}

function renderShellWith(
  template: string,
  view: Record<string, unknown>,
  args: readonly string[],
  valueOf: (token: string[], context: Mustache.Context) => string,
  everySection = false,
): string {
  const scanner = new ShellScanner();
  const writer = new Mustache.Writer();
  const insert = (token: string[], context: Mustache.Context): string => scanner.insert(valueOf(token, context), `{{${token[1]}}}`);
  // Overriding the writer's value hooks (not just `escape`) also covers {{{x}}} and {{& x}};
  // the hooks run in output order, so the scanner sees the line as it is built.
  writer.rawValue = (token) => {
    const text = tokenText(token);
    scanner.feed(text);
    return text;
  };
  writer.escapedValue = insert;
  writer.unescapedValue = insert;
  if (everySection) {
    writer.renderSection = (token, context, partials, original, config) =>
      writer.renderTokens(token[4] as unknown as string[][], context, partials, original, config);
    writer.renderInverted = () => '';
  }
  try {
    let line = writer.render(expandLeadingDot(template), view);
    args.forEach((a, i) => {
      scanner.feed(' ');
      line += ` ${scanner.insert(a, `args[${i}]`)}`;
    });
    scanner.finish();
    return line;
  } catch (err) {
    if (err instanceof TemplateError) throw err;
    throw new TemplateError(`template ${JSON.stringify(template)}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
