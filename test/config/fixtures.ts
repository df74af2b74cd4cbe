import { readFileSync, readdirSync } from 'node:fs';

/** Fixtures live in the source tree; compiled tests run from dist-*, so go through the repo root. */
const dir = new URL('../../../test/config/fixtures/', import.meta.url);

export function fixture(name: string): string {
  return readFileSync(new URL(name, dir), 'utf8');
}

export function fixtureNames(prefix: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.yml'))
    .sort();
}

export const schemaUrl = new URL('../../../docs/config.schema.json', import.meta.url);

/** `levels` anchors, each a list of nine uses of the one before: 9^levels nodes once expanded. */
export function aliasBomb(levels: number): string {
  const names = 'abcdefghijklmnop';
  const lines = ['a: &a [x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < levels; i++)
    lines.push(
      `${names[i]}: &${names[i]} [${Array(9)
        .fill(`*${names[i - 1]}`)
        .join(', ')}]`,
    );
  return `${lines.join('\n')}\n`;
}
