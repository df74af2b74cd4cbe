import path from 'node:path';
import Mustache from 'mustache';
import { FloeError } from '../errors.js';

/** What a task field may refer to: `{{ws}}` and the run's template vars. */
export interface TemplateScope {
  /** Absolute workspace path. */
  workspace: string;
  /** Trigger values, data node answers (`{{node.field}}`). */
  vars: Record<string, unknown>;
}

/** A template that cannot be rendered safely or at all. */
export class TemplateError extends FloeError {
  constructor(message: string) {
    super('bad-request', message);
  }
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
    } else if (/\s/.test(cmd[i])) {
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

/** POSIX single quoting: the result is one word whose value is exactly `value`. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * Renders a line for `sh -c` so that no value can change its syntax: each value is quoted
 * for the quoting context it lands in (bare, "double", 'single', comment, here-document,
 * `backticks`). Where the context can't be known for sure it throws rather than guess.
 */
export function renderShell(template: string, scope: TemplateScope): string {
  const scanner = new ShellScanner();
  const writer = new Mustache.Writer();
  const insert = (token: string[], context: Mustache.Context): string =>
    scanner.insert(asText(context.lookup(token[1])), token[1]);
  // Overriding the writer's value hooks (not just `escape`) also covers {{{x}}} and {{& x}};
  // the hooks run in output order, so the scanner sees the line as it is built.
  writer.rawValue = (token) => {
    scanner.feed(token[1]);
    return token[1];
  };
  writer.escapedValue = insert;
  writer.unescapedValue = insert;
  try {
    return writer.render(expandLeadingDot(template), viewOf(scope));
  } catch (err) {
    if (err instanceof TemplateError) throw err;
    throw new TemplateError(`template ${JSON.stringify(template)}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

type Frame =
  | { kind: 'code' } // top level
  | { kind: 'paren'; depth: number; arith: boolean; fresh: boolean } // $( ... ), $(( ... ))
  | { kind: 'backtick' }
  | { kind: 'single' }
  | { kind: 'double' }
  | { kind: 'comment' }
  | { kind: 'brace' } // ${ ... }
  | { kind: 'heredoc'; delim: string; quoted: boolean; stripTabs: boolean; line: string; hasValue: boolean }
  | { kind: 'delim'; word: string; quoted: boolean; stripTabs: boolean; quote: '' | "'" | '"'; started: boolean };

type HeredocSpec = { delim: string; quoted: boolean; stripTabs: boolean };

const wordBreak = /[\s;&|<>()]/;

/** Follows the quoting state of a POSIX shell line as it is written, well enough to quote values. */
class ShellScanner {
  private stack: Frame[] = [{ kind: 'code' }];
  private pending: HeredocSpec[] = [];
  private escaped = false;
  private dollar = false;
  private wordStart = true;
  private word = '';
  /** Set once the line uses syntax the scanner does not follow; any later value then throws. */
  private doubt: string | undefined;

  private get top(): Frame {
    return this.stack[this.stack.length - 1];
  }

  feed(text: string): void {
    for (let i = 0; i < text.length; i++) this.step(text[i], text[i + 1]);
  }

  insert(value: string, name: string): string {
    const where = `{{${name}}}`;
    if (this.doubt) throw new TemplateError(`cannot tell how to quote ${where}: the line uses ${this.doubt}`);
    const top = this.top;
    let text: string;
    switch (top.kind) {
      case 'code':
      case 'paren':
      case 'backtick':
        text = shellQuote(value);
        break;
      case 'single':
        text = value.replace(/'/g, `'\\''`);
        break;
      case 'double':
        text = value.replace(/[\\"$`]/g, '\\$&');
        break;
      case 'comment':
        text = value.replace(/[\r\n]/g, ' ');
        break;
      case 'heredoc':
        text = top.quoted ? value : value.replace(/[\\$`]/g, '\\$&');
        break;
      case 'brace':
      case 'delim':
        throw new TemplateError(`${where} may not be used inside \${...} or a here-document delimiter`);
    }
    if (this.dollar && top.kind !== 'single' && top.kind !== 'comment' && !(top.kind === 'heredoc' && top.quoted)) {
      throw new TemplateError(`${where} right after a "$" would be read as part of an expansion`);
    }
    if (top.kind === 'heredoc') {
      const lines = (top.line + text).split('\n');
      const last = lines.pop() ?? '';
      for (const l of lines) {
        if ((top.stripTabs ? l.replace(/^\t+/, '') : l) === top.delim) {
          throw new TemplateError(`${where} holds a line that would end the here-document (${top.delim})`);
        }
      }
      top.hasValue = lines.length === 0 ? top.hasValue || text !== '' : last !== '';
      top.line = last;
    }
    // Each enclosing backtick level strips one level of \ before $ ` \ from its body.
    for (const f of this.stack) if (f.kind === 'backtick') text = text.replace(/[\\$`]/g, '\\$&');
    if (this.escaped) {
      if (top.kind === 'heredoc') throw new TemplateError(`${where} right after a "\\" in a here-document`);
      // The template's trailing backslash would escape our opening quote; a newline
      // after it is a line continuation, which the shell removes.
      text = `\n${text}`;
    }
    this.escaped = false;
    this.dollar = false;
    this.wordStart = false;
    this.word = '\0';
    return text;
  }

  private step(c: string, next: string | undefined): void {
    const top = this.top;
    const wasDollar = this.dollar;
    this.dollar = false;
    switch (top.kind) {
      case 'single':
        if (c === "'") this.stack.pop();
        else if (c === '`' && this.inBacktick()) this.doubt ??= 'a ` inside quotes inside `...`';
        return;
      case 'comment':
        if (c === '\n') {
          this.stack.pop();
          this.step(c, next);
        }
        return;
      case 'brace':
        if (c === '}') this.stack.pop();
        else if (`'"\`{$`.includes(c)) this.doubt ??= 'quotes or nesting inside ${...}';
        return;
      case 'delim':
        return this.stepDelim(top, c, next);
      case 'heredoc':
        return this.stepHeredoc(top, c, wasDollar);
      case 'double':
        if (this.escaped) this.escaped = false;
        else if (c === '\\') this.escaped = true;
        else if (c === '"') this.stack.pop();
        else if (c === '`' && this.inBacktick()) this.doubt ??= 'a ` inside quotes inside `...`';
        else if (c === '`') this.stack.push({ kind: 'backtick' });
        else if (c === '$') this.dollar = !wasDollar; // `$$` is the pid, not the start of `$(`
        else if (wasDollar && (c === '(' || c === '{')) this.openDollar(c);
        if (this.inBacktick() && c === '\\') this.doubt ??= 'a backslash inside `...`';
        return;
      default:
        return this.stepCode(top, c, next, wasDollar);
    }
  }

  private stepCode(top: Frame, c: string, next: string | undefined, wasDollar: boolean): void {
    if (this.escaped) {
      this.escaped = false;
      this.wordStart = false;
      return;
    }
    if (this.inBacktick() && c === '\\') this.doubt ??= 'a backslash inside `...`';
    if (top.kind === 'paren' && top.fresh) {
      top.fresh = false;
      top.arith = c === '(';
    }
    if (wasDollar && this.openDollar(c)) return;
    if (wordBreak.test(c)) this.endWord();
    switch (c) {
      case '\\':
        this.escaped = true;
        return;
      case "'":
        this.stack.push({ kind: 'single' });
        break;
      case '"':
        this.stack.push({ kind: 'double' });
        break;
      case '`':
        if (top.kind === 'backtick') this.stack.pop();
        else this.stack.push({ kind: 'backtick' });
        break;
      case '$':
        this.dollar = !wasDollar;
        break;
      case '(':
        if (top.kind === 'paren') top.depth++;
        break;
      case ')':
        if (top.kind === 'paren') {
          if (top.depth > 0) top.depth--;
          else this.stack.pop();
        }
        break;
      case '#':
        if (this.wordStart) {
          this.stack.push({ kind: 'comment' });
          return;
        }
        break;
      case '<':
        // In $(( )) `<<` is a shift.
        if (next === '<' && !(top.kind === 'paren' && top.arith)) this.stack.push({ kind: 'delim', word: '', quoted: false, stripTabs: false, quote: '', started: false });
        break;
      case '\n':
        if (this.pending.length > 0) this.startHeredoc();
        break;
    }
    this.wordStart = wordBreak.test(c);
    if (!this.wordStart && /[A-Za-z]/.test(c)) this.word += c;
  }

  /** `$(`, `${` and `$'` after a `$`; returns true when `c` was consumed. */
  private openDollar(c: string): boolean {
    if (c === '(') this.stack.push({ kind: 'paren', depth: 0, arith: false, fresh: true });
    else if (c === '{') this.stack.push({ kind: 'brace' });
    else if (c === "'") this.doubt ??= "$'...' quoting";
    else return false;
    this.wordStart = false;
    return c !== "'";
  }

  private endWord(): void {
    // `case a) ...` inside $( ) has a `)` that does not close it; not followed here.
    if (this.word === 'case' && this.stack.some((f) => f.kind === 'paren')) this.doubt ??= 'case inside $(...)';
    this.word = '';
  }

  private inBacktick(): boolean {
    return this.stack.some((f) => f.kind === 'backtick');
  }

  private stepDelim(d: Extract<Frame, { kind: 'delim' }>, c: string, next: string | undefined): void {
    if (!d.started) {
      if (c === '<' && d.word === '' && !d.stripTabs && !d.quoted) {
        if (next === '<') this.doubt ??= '<<< here-strings';
        return; // the second `<` of `<<`
      }
      if (c === '-' && !d.stripTabs) {
        d.stripTabs = true;
        return;
      }
      if (c === ' ' || c === '\t') return;
      d.started = true;
    }
    if (d.quote !== '') {
      if (c === d.quote) d.quote = '';
      else d.word += c;
      return;
    }
    if (c === "'" || c === '"') {
      d.quote = c;
      d.quoted = true;
      return;
    }
    if (c === '\\') {
      d.quoted = true;
      return;
    }
    if (!wordBreak.test(c)) {
      d.word += c;
      return;
    }
    this.stack.pop();
    this.pending.push({ delim: d.word, quoted: d.quoted, stripTabs: d.stripTabs });
    this.step(c, next);
  }

  private startHeredoc(): void {
    const spec = this.pending.shift();
    if (spec) this.stack.push({ kind: 'heredoc', ...spec, line: '', hasValue: false });
  }

  private stepHeredoc(h: Extract<Frame, { kind: 'heredoc' }>, c: string, wasDollar: boolean): void {
    if (!h.quoted) {
      if (this.escaped) {
        this.escaped = false;
        // Shells differ on whether a continued line can still be the delimiter.
        if (c === '\n') this.doubt ??= 'a \\ at the end of a here-document line';
      } else if (c === '\\') this.escaped = true;
      else if (c === '$') this.dollar = !wasDollar;
      else if (c === '`' || (wasDollar && (c === '(' || c === '{'))) this.doubt ??= 'an expansion inside a here-document';
    }
    if (c !== '\n') {
      h.line += c;
      return;
    }
    const line = h.stripTabs ? h.line.replace(/^\t+/, '') : h.line;
    const hadValue = h.hasValue;
    h.line = '';
    h.hasValue = false;
    if (line === h.delim) {
      // A value that completes the delimiter line would turn the rest of the template into code.
      if (hadValue) throw new TemplateError(`a value completes the line ${JSON.stringify(h.delim)} that ends the here-document`);
      this.stack.pop();
      this.escaped = false;
      this.startHeredoc();
    }
  }
}
