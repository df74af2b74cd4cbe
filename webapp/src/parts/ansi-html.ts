import { AnsiUp } from 'ansi_up';

/** ansi_up's 16 colours, by the class names it gives them in class mode (`ansi-red` -> `ansi-red-fg`). */
const PALETTE: Array<[string, number, number, number]> = [
  ['ansi-black', 0, 0, 0],
  ['ansi-red', 187, 0, 0],
  ['ansi-green', 0, 187, 0],
  ['ansi-yellow', 187, 187, 0],
  ['ansi-blue', 0, 0, 187],
  ['ansi-magenta', 187, 0, 187],
  ['ansi-cyan', 0, 187, 187],
  ['ansi-white', 255, 255, 255],
  ['ansi-bright-black', 85, 85, 85],
  ['ansi-bright-red', 255, 85, 85],
  ['ansi-bright-green', 0, 255, 0],
  ['ansi-bright-yellow', 255, 255, 85],
  ['ansi-bright-blue', 85, 85, 255],
  ['ansi-bright-magenta', 255, 85, 255],
  ['ansi-bright-cyan', 85, 255, 255],
  ['ansi-bright-white', 255, 255, 255],
];

/** The nearest of the 16 colours, so 256-colour and true-colour text follows the theme's palette too. */
function nearest(r: number, g: number, b: number): string {
  let best = PALETTE[0]![0];
  let bestD = Infinity;
  for (const [name, pr, pg, pb] of PALETTE) {
    const d = (r - pr) ** 2 + (g - pg) ** 2 + (b - pb) ** 2;
    if (d < bestD) {
      bestD = d;
      best = name;
    }
  }
  return best;
}

// Markers set as ansi_up's style strings, turned into classes below: the page's CSP refuses
// style attributes, so nothing may reach the DOM as `style="..."`.
const STYLE_CLASS: Record<string, string> = {
  bold: 'ansi-bold',
  faint: 'ansi-faint',
  italic: 'ansi-italic',
  underline: 'ansi-underline',
};

function classesOfStyle(style: string): string[] {
  const out: string[] = [];
  for (const part of style.split(';')) {
    const known = STYLE_CLASS[part];
    if (known) {
      out.push(known);
      continue;
    }
    const m = /^(color|background-color):rgb\((\d+),(\d+),(\d+)\)$/.exec(part);
    if (m) out.push(`${nearest(Number(m[2]), Number(m[3]), Number(m[4]))}-${m[1] === 'color' ? 'fg' : 'bg'}`);
  }
  return out;
}

/** ansi_up's own `<span style="..." class="...">`: text never holds a quote (it is escaped), so this matches only tags. */
const SPAN_STYLE = /<span style="([^"]*)"(?: class="([^"]*)")?>/g;

function converter(): AnsiUp {
  const au = new AnsiUp();
  au.use_classes = true;
  au.escape_html = true;
  au.boldStyle = 'bold';
  au.faintStyle = 'faint';
  au.italicStyle = 'italic';
  au.underlineStyle = 'underline';
  return au;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#x27;' };

/** Text as HTML: what ansi_up does to text, for lines without escape sequences. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/**
 * One output line as HTML: text escaped, ANSI colours and weights as `ansi-*` classes (run.css
 * colours them for both themes), links (OSC 8, http and https only) opening in a new tab. Each
 * line starts from plain text: a colour left open at the end of one line does not run into the next,
 * so any line can be drawn alone.
 */
export function ansiToHtml(line: string): string {
  if (!line.includes('\x1b')) return escapeHtml(line);
  const html = converter().ansi_to_html(line);
  return html
    .replace(SPAN_STYLE, (_, style: string, cls: string | undefined) => {
      const classes = [...(cls ? cls.split(' ') : []), ...classesOfStyle(style)];
      return classes.length > 0 ? `<span class="${classes.join(' ')}">` : '<span>';
    })
    .replace(/<a href="/g, '<a target="_blank" rel="noopener noreferrer" href="');
}

/** The text a line shows, without its escape sequences: what search looks in and a download holds. */
export function stripAnsi(line: string): string {
  if (!line.includes('\x1b')) return line;
  // CSI sequences, OSC sequences (ended by BEL or ST), and two-character escapes.
  return line.replace(/\x1b\[[\x20-\x3f]*[\x40-\x7e]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[^[\]]/g, '');
}
