import { FloeError } from '../errors.js';
/** A template that cannot be rendered safely or at all. */
export class TemplateError extends FloeError {
    constructor(message) {
        super('bad-request', message);
    }
}
//# sourceMappingURL=template-error.js.map