import type { Row, Unit } from './row.js';

function figure(v: number | undefined, unit: Unit): string {
  if (v === undefined) return '';
  if (!Number.isFinite(v)) return '-';
  switch (unit) {
    case 'ms':
      return `${v.toFixed(v < 100 ? 2 : 0)} ms`;
    case 'MB':
      return `${v.toFixed(1)} MB`;
    case 'lines/s':
    case 'runs/s':
      return `${Math.round(v).toLocaleString('en')} ${unit}`;
    case 'clients':
      return String(v);
  }
}

/** The rows as an aligned text table: measure, value, floor, ratio, target, verdict; notes below. */
export function renderTable(rows: readonly Row[]): string {
  const head = ['measure', 'value', 'floor', 'ratio', 'target', 'verdict'];
  const cells = rows.map((r) => [
    r.measure,
    figure(r.value, r.unit) + (r.p90 !== undefined && Number.isFinite(r.p90) ? ` (p90 ${figure(r.p90, r.unit)})` : ''),
    figure(r.floor, r.unit),
    r.ratio === undefined ? '' : `${r.ratio.toFixed(r.ratio < 0.1 ? 4 : 2)}x`,
    r.target,
    r.verdict,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string =>
    c
      .map((x, i) => (i === 1 || i === 2 || i === 3 ? x.padStart(widths[i]!) : x.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)];
  const notes = rows.flatMap((r) => {
    const what = [r.floorWhat && `floor: ${r.floorWhat}`, r.note].filter(Boolean).join('; ');
    return what ? [`${r.id}: ${what}`] : [];
  });
  if (notes.length > 0) out.push('', ...notes);
  return out.join('\n');
}
