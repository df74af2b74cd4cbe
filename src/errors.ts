import { escapeControls } from './quote-value.js';

/** Where something was written: a config file position, or a field path for non-file input. */
export interface SourcePos {
  file: string;
  line: number;
  col: number;
  /** Field path inside the document, e.g. `flows[0].tasks[2].listen`. */
  path: string;
}

export type ErrorCode =
  | 'config-invalid'
  | 'not-found'
  | 'bad-request'
  | 'conflict'
  | 'unauthorized'
  | 'forbidden'
  | 'too-large'
  | 'too-many-requests'
  | 'shutting-down'
  /** Another host this request needs (the one holding a run) did not answer. */
  | 'unreachable'
  | 'internal';

export class FloeError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export function formatPos(at: SourcePos): string {
  return `${at.file}:${at.line}:${at.col}`;
}

/** One problem found in a config; validation collects all of them. */
export interface ConfigProblem {
  severity: 'error' | 'warning';
  message: string;
  at: SourcePos;
}

/**
 * `file:line:col: severity: path: message`, always one line: messages quote values with
 * quoteValue, and any control character still left in a part is escaped here.
 */
export function formatProblem(p: ConfigProblem): string {
  const field = p.at.path ? ` ${p.at.path}:` : '';
  return escapeControls(`${formatPos(p.at)}: ${p.severity}:${field} ${p.message}`);
}

/** A config that failed validation; carries every error (and warning) found. */
export class ConfigError extends FloeError {
  constructor(readonly problems: ConfigProblem[]) {
    super(
      'config-invalid',
      problems
        .filter((p) => p.severity === 'error')
        .map(formatProblem)
        .join('\n'),
    );
  }
}

export function assertNever(x: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(x)}`);
}
