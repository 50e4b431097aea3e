import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/**
 * A configuration value that must never be printed. Logging, JSON serialisation and
 * `util.inspect` all see `[redacted]`; code that really needs the value calls `reveal()`.
 */
export class Secret<T> {
  readonly #value: T;

  constructor(value: T) {
    this.#value = value;
  }

  reveal(): T {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}
