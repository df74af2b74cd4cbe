/**
 * What a word of a simple command is to the program it runs: plain text, a script another
 * shell will parse as code (the script of `sh -c`, the arguments of `eval`, the action of
 * `trap`), or possibly such a script when the command cannot be told for sure.
 */
export type WordRole = 'arg' | 'script' | 'unsure';

/** Shells that quote as POSIX sh does, so a nested scanner can follow their scripts. */
const posixShells = new Set([
  'sh',
  'bash',
  'dash',
  'zsh',
  'ksh',
  'ksh93',
  'mksh',
  'lksh',
  'pdksh',
  'oksh',
  'ash',
  'yash',
  'posh',
  'rbash',
  'bosh',
]);
/**
 * Programs that run their `-c` argument with a shell (su's is the target user's login shell),
 * parsing options with GNU getopt: options may follow operands, and `-c` takes the next word
 * or the rest of its own. Each maps to its other letters that take an argument.
 */
const getoptRunners = new Map([
  ['su', 'sgGw'],
  ['runuser', 'sgGwu'],
  ['flock', 'wE'],
]);
/** Shells whose `-c` takes code quoted their own way: values there are refused, not guessed. */
const otherShells = new Set(['fish', 'csh', 'tcsh', 'pwsh', 'powershell', 'nu', 'elvish', 'xonsh', 'rc', 'es']);
/** Reserved words after which the next word is still a command name. */
const reserved = new Set(['!', '{', '}', 'if', 'then', 'else', 'elif', 'fi', 'do', 'done', 'while', 'until', 'time']);
/** Long options of bash, zsh and su that take the next word as their argument. */
const longWithArg = new Set(['--rcfile', '--init-file', '--emulate', '--shell', '--group', '--supp-group', '--whitelist-environment']);

/** Unquoted characters that reach a nested shell as written: no glob, tilde or brace expansion. */
const plainBare = /^[A-Za-z0-9_@%+=:,./#^!-]*$/;

/**
 * What a word needs of the scanner that follows the script inside it: shell-scanner.ts's
 * ShellScanner, named here as an interface so the two files do not import each other.
 */
export interface ScriptScanner {
  feed(text: string): void;
  distrust(why: string): void;
  insert(value: string, where: string): string;
}

/** One word of a simple command, as the shell builds it from the line. */
export interface Word {
  /** What the program receives, so far. */
  text: string;
  /** Why `text` is not known until run time (`$NAME`, `$(...)`), when it isn't. */
  unknown?: string;
  /** Its unquoted, unescaped characters: globs and brace expansion change a word's text. */
  bare: string;
  /** Follows the script inside this word, once a value lands in it, as the inner shell parses it. */
  inner?: ScriptScanner;
}

/** The word's text as the program receives it, or undefined when only run time can tell. */
function wordText(w: Word): string | undefined {
  if (w.unknown !== undefined) return undefined;
  if (/[*?]|\[.*\]|\{.*(,|\.\.).*\}|^~/.test(w.bare)) return undefined;
  return w.text;
}

/** Why a nested shell's text is unknown: the outer shell expands `what` before it parses. */
function expandedFirst(what: string): string {
  return `${what}, which the outer shell expands before this script is parsed`;
}

type Mode =
  | 'none' // no shell seen, or its script already passed
  | 'maybe-shell' // a word whose text is unknown until run time ($SH, "$(which bash)") may be a shell
  | 'shell' // a shell's options are being read, no -c yet
  | 'script' // -c seen: the next operand is the script
  | 'unsure' // the next operand may be a script
  | 'eval' // every argument is part of one script
  | 'trap'; // the first operand is the script

/**
 * Follows the words of one simple command, as the outer shell hands them to the program
 * (after quote removal; undefined for a word an expansion makes unknown), and says which word
 * another shell will parse as code. Wrappers before the shell (`sudo`, `env X=1`, `timeout 5`,
 * `docker exec c`, `find . -exec`) need no list: any word naming a shell starts it afresh.
 */
export class CommandWords {
  /** The word being read, once one has started. */
  word: Word | undefined;
  private atStart = true;
  private afterCommandBuiltin = false;
  private mode: Mode = 'none';
  private program = '';
  private posix = true;
  private permutes = false;
  /** Option letters that take an argument. */
  private argLetters = 'oO';
  private optionsEnded = false;
  /** Words that are option arguments (`-o pipefail`). */
  private optionArgs = 0;
  /** The next word is a redirection's target (`> file`). */
  private target = false;
  /** eval's arguments so far, joined by spaces as eval joins them; undefined once one is unknown. */
  private evalText: string | undefined;
  /** The shell run reads its script from stdin: no -c and no script file, or -s. */
  private readsStdin = false;
  private stdinFlag = false;

  /** The shell that reads this command's stdin as its script (`sh`, `bash -s x`, `sudo su ci`), or ''. */
  stdinReader(): string {
    return this.readsStdin ? this.program : '';
  }

  /** The word being read, started if need be. */
  currentWord(): Word {
    this.word ??= { text: '', bare: '' };
    return this.word;
  }

  /** Adds text the program will receive; `bare` is the part of it written unquoted. */
  append(text: string, bare: string): void {
    const w = this.currentWord();
    w.text += text;
    w.bare += bare;
    if (!w.inner) return;
    w.inner.feed(text);
    if (!plainBare.test(bare)) w.inner.distrust(expandedFirst('a glob, ~ or {a,b}'));
  }

  /** Adds a value, already written as the program will receive it (its nested scanner has seen it). */
  appendValue(text: string): void {
    this.currentWord().text += text;
  }

  /** An expansion (`why`: `$NAME`, `$(...)`) makes the word's text unknown until run time. */
  markUnknown(why: string): void {
    const w = this.currentWord();
    w.unknown ??= why;
    w.inner?.distrust(expandedFirst(why));
  }

  /** The word ends at `c`; a number right before `<` or `>` is a descriptor, not a word. */
  finishWord(c: string): void {
    const w = this.word;
    if (!w) return;
    this.word = undefined;
    const isFd = (c === '<' || c === '>') && w.unknown === undefined && w.bare === w.text && /^(\d+|\{[A-Za-z_]\w*\})$/.test(w.text);
    if (!isFd) this.push(wordText(w));
  }

  /** What the word being read is to the program. */
  wordRole(): WordRole {
    return this.roleOf(this.word ? wordText(this.word) : '');
  }

  /**
   * The text the inner shell parses before the end of the word being read (for eval, the
   * earlier arguments too), or why it cannot be known.
   */
  scriptSoFar(): { text: string } | { unknown: string } {
    const w = this.currentWord();
    const own = wordText(w);
    if (own === undefined) return { unknown: expandedFirst(w.unknown ?? 'a glob, ~ or {a,b}') };
    if (!plainBare.test(w.bare)) return { unknown: expandedFirst('a glob, ~ or {a,b}') };
    if (this.mode !== 'eval' || this.evalText === '') return { text: own };
    if (this.evalText === undefined) return { unknown: expandedFirst('an expansion in an earlier argument of eval') };
    return { text: `${this.evalText} ${own}` };
  }

  /** Names the program a script word goes to, for messages: `bash -c`, `eval`. */
  scriptOwner(): string {
    if (this.mode === 'eval' || this.mode === 'trap') return this.mode;
    return this.program === '' ? 'a program chosen at run time, called with -c' : `${this.program} -c`;
  }

  /** One finished word, as the program receives it; undefined when an expansion makes it unknown. */
  private push(word: string | undefined): void {
    if (this.target) {
      this.target = false;
      return;
    }
    if (this.optionArgs > 0) {
      this.optionArgs--;
      return;
    }
    if (this.atStart && this.startsCommand(word)) return;
    if (this.mode === 'eval') {
      // A shell named in eval's arguments is inside eval's script, followed by the nested scanner.
      this.evalText =
        word === undefined || this.evalText === undefined ? undefined : this.evalText === '' ? word : `${this.evalText} ${word}`;
      return;
    }
    if (this.mode === 'script' && this.permutes) {
      this.mode = 'shell';
      return;
    }
    const base = word?.slice(word.lastIndexOf('/') + 1);
    if (base !== undefined && (posixShells.has(base) || getoptRunners.has(base) || otherShells.has(base))) {
      this.mode = 'shell';
      this.program = base;
      this.posix = !otherShells.has(base);
      this.argLetters = getoptRunners.get(base) ?? 'oO';
      this.permutes = getoptRunners.has(base);
      this.optionsEnded = false;
      this.readsStdin = base !== 'flock';
      this.stdinFlag = false;
      return;
    }
    switch (this.mode) {
      case 'trap':
        if (word !== undefined && !this.optionsEnded && /^-./.test(word)) this.optionsEnded = word === '--';
        else this.mode = 'none';
        return;
      case 'none':
        if (word === undefined) {
          this.mode = 'maybe-shell';
          this.program = '';
          this.posix = true;
          this.permutes = false;
          this.argLetters = 'oO';
        }
        return;
      case 'maybe-shell':
        if (word === undefined) return;
        if (/^[-+]/.test(word)) this.readOptions(word);
        else this.mode = 'none';
        return;
      case 'shell':
      case 'script':
      case 'unsure':
        if (word === undefined) {
          // An option cluster holding c, or the script itself: the next operand may be code.
          this.mode = this.mode === 'unsure' ? 'none' : 'unsure';
          return;
        }
        if (!this.optionsEnded && /^[-+]/.test(word)) this.readOptions(word);
        else if (this.mode !== 'shell' || !this.permutes) {
          if (this.mode === 'shell' && !this.stdinFlag) this.readsStdin = false; // a script file
          this.mode = 'none';
        }
        return;
    }
  }

  /** A redirection operator (`<`, `>`, `>>`, `>&`, ...): the next word is its target, not an argument. */
  redirect(): void {
    this.target = true;
  }

  /** The command ended (`;`, `&`, `|`, `&&`, newline, parentheses). */
  end(): void {
    this.word = undefined;
    this.atStart = true;
    this.afterCommandBuiltin = false;
    this.mode = 'none';
    this.program = '';
    this.posix = true;
    this.permutes = false;
    this.argLetters = 'oO';
    this.optionsEnded = false;
    this.optionArgs = 0;
    this.target = false;
    this.readsStdin = false;
    this.stdinFlag = false;
  }

  /** The role of a word whose text so far is `prefix` (undefined when an expansion made it unknown). */
  private roleOf(prefix: string | undefined): WordRole {
    if (this.target || this.optionArgs > 0 || this.atStart) return 'arg';
    // su's getopt takes `-cCMD` and `--command=CMD` too: a script inside an option word.
    if (this.permutes && prefix !== undefined && /^(-[^-]*c|--(session-)?command=)/.test(prefix) && this.mode !== 'script') return 'unsure';
    const isOption = !this.optionsEnded && prefix !== undefined && /^[-+]/.test(prefix);
    switch (this.mode) {
      case 'eval':
        return 'script';
      case 'trap':
        return isOption ? 'arg' : 'script';
      case 'script':
        if (this.permutes) return 'script'; // getopt: -c takes the next word, whatever it starts with
        return isOption ? 'arg' : this.posix ? 'script' : 'unsure';
      case 'unsure':
        return isOption ? 'arg' : 'unsure';
      default:
        return 'arg';
    }
  }

  /** Handles a word at the start of a command; returns true when it consumed it. */
  private startsCommand(word: string | undefined): boolean {
    if (word !== undefined) {
      if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(word) || reserved.has(word)) return true;
      if (this.afterCommandBuiltin && word.startsWith('-')) return true;
      if (word === 'command' || word === 'builtin') {
        this.afterCommandBuiltin = true;
        return true;
      }
    }
    this.atStart = false;
    if (word === 'eval') {
      this.mode = 'eval';
      this.evalText = '';
      return true;
    }
    if (word === 'trap') {
      this.mode = 'trap';
      this.optionsEnded = false;
      return true;
    }
    return false;
  }

  private readOptions(word: string): void {
    // su's `-` means a login shell; and words after su's user name, -c included, go on to that
    // shell, so for these programs a later -c counts whatever came before.
    if ((word === '--' || word === '-') && !this.permutes) {
      this.optionsEnded = true;
      return;
    }
    let hasC = false;
    if (word.startsWith('--')) {
      if (longWithArg.has(word)) this.optionArgs++;
      hasC = this.permutes ? word === '--command' || word === '--session-command' : !this.posix && /^--c/i.test(word);
    } else if (this.permutes) {
      // getopt: a letter taking an argument takes the rest of the word, or else the next word.
      const letters = word.slice(1);
      for (let i = 0; i < letters.length; i++) {
        const letter = letters.charAt(i);
        if (letter !== 'c' && !this.argLetters.includes(letter)) continue;
        if (i === letters.length - 1) {
          if (letter === 'c') hasC = true;
          else this.optionArgs++;
        }
        break;
      }
    } else {
      const letters = word.slice(1);
      this.optionArgs += [...letters].filter((l) => this.argLetters.includes(l)).length;
      hasC = this.posix ? letters.includes('c') : /c/i.test(letters);
      if (letters.includes('s')) this.stdinFlag = true;
    }
    if (!hasC) return;
    this.mode = this.mode === 'maybe-shell' || !this.posix ? 'unsure' : 'script';
    this.readsStdin = false;
  }
}
