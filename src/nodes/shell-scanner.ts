import { CommandWords } from './shell-command.js';
import { TemplateError } from './template-error.js';

/** POSIX single quoting: the result is one word whose value is exactly `value`. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The commands of one code level: the line, a `$( )` body, a backtick body. */
interface Commands {
  cmd: CommandWords;
}

type Frame =
  | ({ kind: 'code' } & Commands) // top level
  | ({ kind: 'paren'; depth: number; arith: boolean; fresh: boolean } & Commands) // $( ... ), $(( ... ))
  | ({ kind: 'backtick' } & Commands)
  | { kind: 'single' }
  | { kind: 'double' }
  | { kind: 'comment' }
  | { kind: 'brace' } // ${ ... }
  | ({ kind: 'heredoc'; line: string; hasValue: boolean } & HeredocSpec)
  | { kind: 'delim'; word: string; quoted: boolean; stripTabs: boolean; quote: '' | "'" | '"'; started: boolean };

type HeredocSpec = {
  delim: string;
  quoted: boolean;
  stripTabs: boolean;
  /** The shell that reads the document as its script (`sh <<EOF`), '' for none; set when its command ends. */
  readBy?: string;
};

type CodeFrame = Extract<Frame, { cmd: CommandWords }>;

const wordBreak = /[\s;&|<>()]/;
/** What may follow `$` to make a parameter expansion. */
const parameterStart = /[A-Za-z0-9_@*#?$!-]/;

const commands = (): Commands => ({ cmd: new CommandWords() });

/**
 * Follows the quoting state of a POSIX shell line as it is written, well enough to quote values.
 * A word that another shell will parse as code (the script of `sh -c`, eval's arguments) is
 * followed by a nested scanner fed the text that shell will see, so a value there is quoted for
 * the inner context first and that text then quoted for the outer one, to any depth.
 */
export class ShellScanner {
  private stack: Frame[] = [{ kind: 'code', ...commands() }];
  private pending: HeredocSpec[] = [];
  private escaped = false;
  private dollar = false;
  private wordStart = true;
  private keyword = '';
  private prev = '';
  /** The last character fed, stepped once the next one is known (`<<`, `((`, `&>` need it). */
  private held: string | undefined;
  /** Set once the line uses syntax the scanner does not follow; any later value then throws. */
  private doubt: string | undefined;

  private get top(): Frame {
    // Only frames pushed above the first are popped, so the stack is never empty.
    const top = this.stack.at(-1);
    if (!top) throw new Error('internal: the shell scanner popped its outermost frame');
    return top;
  }

  feed(text: string): void {
    for (const c of text) {
      if (this.held !== undefined) this.step(this.held, c);
      this.held = c;
    }
  }

  /** Text this shell will parse is not known in advance: every later value is refused. */
  distrust(why: string): void {
    this.doubt ??= why;
  }

  /** Returns `value` written for where the line is now, or throws a TemplateError naming `where` (`{{v}}`). */
  insert(value: string, where: string): string {
    this.flush();
    if (this.doubt) throw new TemplateError(`cannot tell how to quote ${where}: the line uses ${this.doubt}`);
    const owner = this.owner();
    this.refuseInsideScriptExpansion(owner, where);
    const top = this.top;
    // Arithmetic expands $(...) inside its text whatever the quoting, so only plain integers go there.
    if (this.stack.some((f) => f.kind === 'paren' && f.arith)) {
      if (!/^-?\d+$/.test(value))
        throw new TemplateError(`${where} inside $((...)) must be an integer, got ${JSON.stringify(value.slice(0, 40))}`);
      return this.accept(value);
    }
    if (top.kind === 'brace' || top.kind === 'delim') {
      throw new TemplateError(`${where} may not be used inside \${...} or a here-document delimiter`);
    }
    if (this.dollar && top.kind !== 'single' && top.kind !== 'comment' && !(top.kind === 'heredoc' && top.quoted)) {
      throw new TemplateError(`${where} right after a "$" would be read as part of an expansion`);
    }
    if (this.escaped && top.kind === 'heredoc') throw new TemplateError(`${where} right after a "\\" in a here-document`);
    if (top.kind === 'heredoc' && top.readBy) {
      throw new TemplateError(
        `${where} is in a here-document that ${top.readBy} reads as its script; pass the value in env and use "$NAME" there`,
      );
    }
    let text = owner ? this.intoWord(owner, value, where) : value;
    switch (top.kind) {
      case 'code':
      case 'paren':
      case 'backtick':
        text = shellQuote(text);
        break;
      case 'single':
        text = text.replace(/'/g, `'\\''`);
        break;
      case 'double':
        text = text.replace(/[\\"$`]/g, '\\$&');
        break;
      case 'comment':
        text = text.replace(/[\r\n]/g, ' ');
        break;
      case 'heredoc':
        text = top.quoted ? text : text.replace(/[\\$`]/g, '\\$&');
        break;
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
    // The template's trailing backslash would escape our opening quote; a newline
    // after it is a line continuation, which the shell removes.
    if (this.escaped) text = `\n${text}`;
    return this.accept(text);
  }

  /**
   * Adds a value to the word being built at `owner`'s level and returns the text the outer
   * shell must hand on: the value itself, or, in a script for a nested shell, the value
   * quoted for where it lands in that script.
   */
  private intoWord(owner: CodeFrame, value: string, where: string): string {
    const w = owner.cmd.currentWord();
    const role = owner.cmd.wordRole();
    if (role === 'unsure') {
      throw new TemplateError(
        `cannot tell whether ${where} is in a script for another shell (${owner.cmd.scriptOwner()}); ` +
          'pass the value in env and use "$NAME" in the script',
      );
    }
    if (role === 'arg') {
      owner.cmd.appendValue(value);
      return value;
    }
    w.inner ??= this.followScript(owner.cmd);
    let text: string;
    try {
      text = w.inner.insert(value, where);
    } catch (err) {
      if (err instanceof TemplateError) throw new TemplateError(`in the script ${owner.cmd.scriptOwner()} runs: ${err.message}`);
      throw err;
    }
    owner.cmd.appendValue(text);
    return text;
  }

  /** A scanner for the script in the word being read, fed what the inner shell will have parsed. */
  private followScript(cmd: CommandWords): ShellScanner {
    const inner = new ShellScanner();
    const before = cmd.scriptSoFar();
    if ('text' in before) inner.feed(before.text);
    else inner.distrust(before.unknown);
    return inner;
  }

  /**
   * A value inside `$(...)`, backticks or `${...}` that sit in a script word: the expansion's
   * output becomes part of the inner script, unquoted, so no quoting can hold.
   */
  private refuseInsideScriptExpansion(owner: CodeFrame | undefined, where: string): void {
    const end = owner ? this.stack.indexOf(owner) : this.stack.length - 1;
    for (let i = 0; i < end; i++) {
      const f = this.tracked(this.stack[i]);
      if (f?.cmd.word && f.cmd.wordRole() !== 'arg') {
        throw new TemplateError(`${where} is inside an expansion whose output becomes part of the script ${f.cmd.scriptOwner()} runs`);
      }
    }
  }

  /** The line is complete: steps its last character, which may end a here-document. */
  finish(): void {
    this.flush();
  }

  private accept(text: string): string {
    this.escaped = false;
    this.dollar = false;
    this.wordStart = false;
    this.keyword = '\0';
    return text;
  }

  private flush(): void {
    if (this.held !== undefined) this.step(this.held, undefined);
    this.held = undefined;
  }

  /** The code level whose word a value at the current position joins. */
  private owner(): CodeFrame | undefined {
    const top = this.top;
    return this.tracked(top.kind === 'single' || top.kind === 'double' ? this.stack[this.stack.length - 2] : top);
  }

  /** `f` when it holds commands whose words are followed (not arithmetic). */
  private tracked(f: Frame | undefined): CodeFrame | undefined {
    if (f === undefined || !('cmd' in f)) return undefined;
    return f.kind === 'paren' && f.arith ? undefined : f;
  }

  private step(c: string, next: string | undefined): void {
    const top = this.top;
    const wasDollar = this.dollar;
    this.dollar = false;
    switch (top.kind) {
      case 'single':
        if (c === "'") this.stack.pop();
        else {
          if (c === '`' && this.inBacktick()) this.doubt ??= 'a ` inside quotes inside `...`';
          this.owner()?.cmd.append(c, '');
        }
        break;
      case 'comment':
        if (c === '\n') {
          this.stack.pop();
          this.step(c, next);
        }
        break;
      case 'brace':
        if (c === '}') this.stack.pop();
        else if (`'"\`{$`.includes(c)) this.doubt ??= 'quotes or nesting inside ${...}';
        break;
      case 'delim':
        this.stepDelim(top, c, next);
        break;
      case 'heredoc':
        this.stepHeredoc(top, c, wasDollar);
        break;
      case 'double':
        this.stepDouble(c, wasDollar);
        break;
      default:
        this.stepCode(top, c, next, wasDollar);
    }
    this.prev = c;
  }

  private stepDouble(c: string, wasDollar: boolean): void {
    const owner = this.owner();
    if (this.escaped) {
      this.escaped = false;
      // Inside "..." a backslash only escapes $ ` " \ and newline; before anything else it stays.
      if (c !== '\n') owner?.cmd.append('$`"\\'.includes(c) ? c : `\\${c}`, '');
    } else {
      if (wasDollar && c !== '(' && c !== '{') {
        if (parameterStart.test(c)) owner?.cmd.markUnknown(parameterName(c));
        else owner?.cmd.append('$', '');
      }
      if (c === '\\') this.escaped = true;
      else if (c === '"') this.stack.pop();
      else if (c === '`' && this.inBacktick()) this.doubt ??= 'a ` inside quotes inside `...`';
      else if (c === '`') {
        owner?.cmd.markUnknown('`...`');
        this.stack.push({ kind: 'backtick', ...commands() });
      } else if (c === '$')
        this.dollar = !wasDollar; // `$$` is the pid, not the start of `$(`
      else if (wasDollar && (c === '(' || c === '{')) {
        owner?.cmd.markUnknown(`$${c}...${c === '(' ? ')' : '}'}`);
        this.openDollar(c);
      } else owner?.cmd.append(c, '');
    }
    if (this.inBacktick() && c === '\\') this.doubt ??= 'a backslash inside `...`';
  }

  private stepCode(top: CodeFrame, c: string, next: string | undefined, wasDollar: boolean): void {
    if (this.escaped) {
      this.escaped = false;
      // `\` newline is a line continuation: both vanish, so a word or comment may still start.
      if (c === '\n') return;
      this.wordStart = false;
      this.tracked(top)?.cmd.append(c, '');
      return;
    }
    if (this.inBacktick() && c === '\\') this.doubt ??= 'a backslash inside `...`';
    if (top.kind === 'paren' && top.fresh) {
      top.fresh = false;
      top.arith = c === '(';
    }
    const f = this.tracked(top);
    if (wasDollar) {
      if (c === '(' || c === '{') f?.cmd.markUnknown(`$${c}...${c === '(' ? ')' : '}'}`);
      else if (parameterStart.test(c)) f?.cmd.markUnknown(parameterName(c));
      else if (c === '"')
        f?.cmd.markUnknown('$"..."'); // bash translates it; dash keeps the $
      else if (c !== "'") f?.cmd.append('$', '');
      if (this.openDollar(c)) return;
    }
    // bash's (( )), [[ ]] and let evaluate arithmetic in quoted text too (a[$(cmd)]); /bin/sh may be bash.
    if (this.wordStart && ((c === '(' && next === '(') || (c === '[' && next === '['))) this.doubt ??= `bash's ${c}${c} ... syntax`;
    if (wordBreak.test(c)) {
      this.endKeyword();
      f?.cmd.finishWord(c);
    }
    switch (c) {
      case '\\':
        this.escaped = true;
        return;
      case "'":
        f?.cmd.currentWord();
        this.stack.push({ kind: 'single' });
        break;
      case '"':
        f?.cmd.currentWord();
        this.stack.push({ kind: 'double' });
        break;
      case '`':
        if (top.kind === 'backtick') this.stack.pop();
        else {
          f?.cmd.markUnknown('`...`');
          this.stack.push({ kind: 'backtick', ...commands() });
        }
        break;
      case '$':
        this.dollar = !wasDollar;
        f?.cmd.currentWord();
        break;
      case '(':
        if (top.kind === 'paren') top.depth++;
        this.endCommand(f);
        break;
      case ')':
        if (top.kind === 'paren' && top.depth === 0) this.stack.pop();
        else {
          if (top.kind === 'paren') top.depth--;
          this.endCommand(f);
        }
        break;
      case '#':
        if (this.wordStart) {
          this.stack.push({ kind: 'comment' });
          return;
        }
        f?.cmd.append(c, c);
        break;
      case '<':
        // In $(( )) `<<` is a shift.
        if (next === '<' && !(top.kind === 'paren' && top.arith))
          this.stack.push({ kind: 'delim', word: '', quoted: false, stripTabs: false, quote: '', started: false });
        else f?.cmd.redirect();
        break;
      case '>':
        f?.cmd.redirect();
        break;
      case '&':
        // `>&` and `<&` are redirections; so is bash's `&>` (taking it as one errs on the side of one command).
        if (this.prev !== '<' && this.prev !== '>' && next !== '>') this.endCommand(f);
        break;
      case '|':
        if (this.prev !== '>') this.endCommand(f); // `>|` is a redirection
        break;
      case ';':
        this.endCommand(f);
        break;
      case '\n':
        this.endCommand(f);
        if (this.pending.length > 0) this.startHeredoc();
        break;
      default:
        if (!wordBreak.test(c)) f?.cmd.append(c, c);
    }
    this.wordStart = wordBreak.test(c);
    if (!this.wordStart && /[A-Za-z]/.test(c)) this.keyword += c;
  }

  /** `$(`, `${` and `$'` after a `$`; returns true when `c` was consumed. */
  private openDollar(c: string): boolean {
    if (c === '(') this.stack.push({ kind: 'paren', depth: 0, arith: false, fresh: true, ...commands() });
    else if (c === '{') this.stack.push({ kind: 'brace' });
    else if (c === "'") this.doubt ??= "$'...' quoting";
    else return false;
    this.wordStart = false;
    return c !== "'";
  }

  private endCommand(f: CodeFrame | undefined): void {
    if (!f) return;
    const shell = f.cmd.stdinReader();
    for (const spec of this.pending) spec.readBy ??= shell;
    f.cmd.end();
  }

  private endKeyword(): void {
    // `case a) ...` inside $( ) has a `)` that does not close it; not followed here.
    if (this.keyword === 'case' && this.stack.some((f) => f.kind === 'paren')) this.doubt ??= 'case inside $(...)';
    if (this.keyword === 'let') this.doubt ??= "bash's let";
    this.keyword = '';
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

/** `$NAME` or `$1`, `$@`...: for messages about an expansion starting with `c`. */
function parameterName(c: string): string {
  return /[A-Za-z_]/.test(c) ? '$NAME' : `$${c}`;
}
