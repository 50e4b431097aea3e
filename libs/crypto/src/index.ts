export { InMemoryDataKeyStore } from './data-key-store';
export type { DataKeyStore, StoredDataKey } from './data-key-store';
export { EnvelopeCipher, rotateMasterKey } from './envelope';
export type { EnvelopeCipherOptions, RotationResult } from './envelope';
export { DecryptionError } from './errors';
export { MasterKeyring, masterKeyId } from './keyring';
export type { MasterKeys, WrappedDataKey } from './keyring';
export {
  generateToken,
  hashToken,
  parseBearer,
  tokenDisplayPrefix,
  tokensEqual,
  verifyToken,
} from './token';
