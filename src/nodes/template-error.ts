import { FloeError } from '../errors.js';

/** A template that cannot be rendered safely or at all. */
export class TemplateError extends FloeError {
  constructor(message: string) {
    super('bad-request', message);
  }
}
