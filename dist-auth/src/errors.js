export class FloeError extends Error {
    code;
    constructor(code, message, options) {
        super(message, options);
        this.code = code;
        this.name = new.target.name;
    }
}
export function formatPos(at) {
    return `${at.file}:${at.line}:${at.col}`;
}
export function formatProblem(p) {
    const field = p.at.path ? ` ${p.at.path}:` : '';
    return `${formatPos(p.at)}: ${p.severity}:${field} ${p.message}`;
}
/** A config that failed validation; carries every error (and warning) found. */
export class ConfigError extends FloeError {
    problems;
    constructor(problems) {
        super('config-invalid', problems.filter((p) => p.severity === 'error').map(formatProblem).join('\n'));
        this.problems = problems;
    }
}
export function assertNever(x) {
    throw new Error(`unexpected value: ${JSON.stringify(x)}`);
}
//# sourceMappingURL=errors.js.map