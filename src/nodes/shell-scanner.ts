import { TemplateError } from './template-error.js';

/** POSIX single quoting: the result is one word whose value is exactly `value`. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
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
export class ShellScanner {
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
    // Arithmetic expands $(...) inside its text whatever the quoting, so only plain integers go there.
    if (this.stack.some((f) => f.kind === 'paren' && f.arith)) {
      if (!/^-?\d+$/.test(value)) throw new TemplateError(`${where} inside $((...)) must be an integer, got ${JSON.stringify(value.slice(0, 40))}`);
      return this.accept(value);
    }
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
    return this.accept(text);
  }

  private accept(text: string): string {
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
    // bash's (( )), [[ ]] and let evaluate arithmetic in quoted text too (a[$(cmd)]); /bin/sh may be bash.
    if (this.wordStart && ((c === '(' && next === '(') || (c === '[' && next === '['))) this.doubt ??= `bash's ${c}${c} ... syntax`;
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
    if (this.word === 'let') this.doubt ??= "bash's let";
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
