/**
 * TLS on every gRPC hop, pinned by the peer's Ed25519 identity key
 * (docs/security.md "Transport").
 */
export { ed25519Spki, spkiPin, tlsPinOf } from './spki-pin.js';
export { selfSignedTlsCertificate, ed25519PrivateKeyObject, type TlsKeyCertPair } from './tls-certificate.js';
export {
  pinnedChannelCredentials,
  unpinnedChannelCredentials,
  tlsServerCredentials,
  peerPin,
  TlsPinMismatchError,
  TLS_CHANNEL_OPTIONS,
} from './channel-credentials.js';
