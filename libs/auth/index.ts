// Public names of libs/auth (docs/auth.md). byte-codec.ts is internal.
export { ROLES } from './types.js';
export type { Role, CertificateBody, Certificate, Identity, Principal, AuthPolicy } from './types.js';
export { AuthRejectedError, AccessDeniedError } from './auth-errors.js';
export type { AuthRejection, AccessDenial } from './auth-errors.js';
export {
  issueCertificate,
  encodeCertificate,
  decodeCertificate,
  verifyCertificate,
  encodeCertificateBase64,
  decodeCertificateBase64,
  validityWindow,
  MAX_VALIDITY_MS,
  assertKeyPair,
  CERTIFICATE_TAG,
  CERTIFICATE_MAGIC,
  CERTIFICATE_VERSION,
  MAX_LIMITS,
} from './certificate.js';
export type { VerifyCertificateOptions } from './certificate.js';
export {
  requestDigest,
  signRequest,
  attachRequestCredentials,
  readRequestCredentials,
  verifyRequestSignature,
  REQUEST_TAG,
  NONCE_BYTES,
  NO_MESSAGE_HASH,
  AUTH_METADATA_KEYS,
  MAX_PRESENTED_CERTIFICATES,
} from './request-signature.js';
export type { RequestCredentials } from './request-signature.js';
export { signDocument, openDocument, signJson, openJson, openJsonSignedBy, canonicalJson, DOCUMENT_TAG_PREFIX, DIRECTORY_TAG } from './signed-document.js';
export type { SignedDocument } from './signed-document.js';
export { authInterceptor } from './client-interceptor.js';
export type { AuthInterceptorOptions } from './client-interceptor.js';
export { secureService, principalOf, callerKeyOf } from './secure-service.js';
export { securedServer } from './secured-server.js';
export { securedClient, pinnedClient, probeClient } from './secured-client.js';
export type { Peer, ClientOptions, ClientConstructor } from './secured-client.js';
export type { SecuredServerOptions } from './secured-server.js';
export { NonceCache, DEFAULT_MAX_NONCES_PER_CALLER, DEFAULT_MAX_CALLERS, DEFAULT_MAX_SKEW_MS, maxNoncesPerCallerSchema, maxClockSkewSchema } from './nonce-cache.js';
export { readKeyFile, writeKeyFile, loadOrCreateKeyFile, readCertificateFile, writeCertificateFile, readIdentity } from './identity-file.js';
export { loadOperatorIdentity, writeOperatorIdentity, setOperatorAddress, operatorIdentitySchema } from './operator-identity.js';
export { initOperatorDirectory } from './operator-directory.js';
export type { OperatorDirectorySpec, OperatorDirectory } from './operator-directory.js';
export type { Authority, AuthorityRef, OperatorIdentity, OperatorIdentityFile } from './operator-identity.js';
