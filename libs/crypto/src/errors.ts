/**
 * Thrown for every failure to open sealed data: malformed input, tampering, the wrong org, an
 * unknown data key or master key. The message is deliberately generic so that callers can log it
 * and it can never carry plaintext or key material, nor tell an attacker which check failed.
 */
export class DecryptionError extends Error {
  constructor(message = 'decryption failed') {
    super(message);
    this.name = 'DecryptionError';
  }
}
