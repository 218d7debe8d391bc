export { generateKeyPair, keyPairFromSecret, sign, verify, PUBLIC_KEY_BYTES, SECRET_KEY_BYTES, SIGNATURE_BYTES } from './ed25519.js';
export type { KeyPair } from './ed25519.js';
export { taggedHash, TaggedHasher, sha256, HASH_BYTES } from './tagged-hash.js';
export { xsalsa20Xor, XSALSA20_KEY_BYTES, XSALSA20_NONCE_BYTES } from './xsalsa20.js';
export { randomBytes } from './random.js';
export { toHex, fromHex, shortKey, bytesEqual } from './encoding.js';
