/**
 * Client-side TLS for every gRPC channel (DESIGN.md "Transport"): the peer's
 * certificate is accepted if and only if its public key hash equals the pin
 * of the key the caller expects at that address (spki-pin.ts), the way
 * Tahoe's foolscap checks a tub id. Chains, names and dates are not
 * consulted: the certificates are self-signed and the pin is the trust.
 *
 * grpc-js checks a certificate only through chain verification, which a
 * self-signed certificate cannot pass, so the pinned credentials wrap
 * grpc-js's own TLS connector (run with rejectUnauthorized: false) and check
 * the pin on the connected socket before grpc-js may send a byte over it.
 * A mismatch closes the socket and fails the connection attempt with an
 * error naming the address and both pins; the call then ends UNAVAILABLE
 * with that text in its details.
 */
import * as grpc from '@grpc/grpc-js';
import { createSecureContext, type TLSSocket } from 'node:tls';
import { toHex } from '../crypto/index.js';
import { spkiPin, tlsPinOf } from './spki-pin.js';

/** Our clients speak TLS 1.3 only (tls-certificate.ts says why it matters for the shared key). */
const secureContext = createSecureContext({ minVersion: 'TLSv1.3' });
const unverified = grpc.credentials.createFromSecureContext(secureContext, { rejectUnauthorized: false });

/**
 * Channel options every TLS channel takes: the server name sent in the
 * handshake (self-signed certificates say CN=intergrid; an IP address is not a
 * valid SNI name).
 */
export const TLS_CHANNEL_OPTIONS: grpc.ChannelOptions = { 'grpc.ssl_target_name_override': 'intergrid' };

/** Raised (inside grpc-js's connection attempt) when a peer's TLS key is not the pinned one. */
export class TlsPinMismatchError extends Error {
  readonly code = 'tls-pin-mismatch';
}

/** The pin of the certificate the peer presented on `socket`, or undefined when it presented none. */
export function peerPin(socket: TLSSocket): string | undefined {
  const cert = socket.getPeerX509Certificate();
  return cert ? spkiPin(cert.publicKey.export({ type: 'spki', format: 'der' })) : undefined;
}

class PinnedChannelCredentials extends grpc.ChannelCredentials {
  constructor(
    readonly pin: string,
    private readonly keyHex: string,
  ) {
    super();
  }

  _isSecure(): boolean {
    return true;
  }

  /** Equal pins may share subchannels (grpc-js's pool compares credentials with this). */
  _equals(other: grpc.ChannelCredentials): boolean {
    return other instanceof PinnedChannelCredentials && other.pin === this.pin;
  }

  _createSecureConnector(...args: Parameters<grpc.ChannelCredentials['_createSecureConnector']>): ReturnType<grpc.ChannelCredentials['_createSecureConnector']> {
    const [target] = args;
    const inner = unverified._createSecureConnector(...args);
    const { pin, keyHex } = this;
    return {
      async connect(socket) {
        const result = await inner.connect(socket);
        const got = peerPin(result.socket as TLSSocket);
        if (got !== pin) {
          result.socket.destroy();
          throw new TlsPinMismatchError(
            got === undefined
              ? `TLS peer at ${target.path} presented no certificate (expected the key ${keyHex.slice(0, 16)}…, pin ${pin})`
              : `TLS key of ${target.path} has pin ${got}, expected pin ${pin} of key ${keyHex.slice(0, 16)}… (wrong address, or not the service this address was learnt for)`,
          );
        }
        return result;
      },
      waitForReady: () => inner.waitForReady(),
      getCallCredentials: () => inner.getCallCredentials(),
      destroy: () => inner.destroy(),
    };
  }
}

/**
 * TLS channel credentials that accept only the service whose Ed25519
 * identity key is `publicKey`.
 * @throws InvalidArgumentError when `publicKey` is not 32 bytes.
 */
export function pinnedChannelCredentials(publicKey: Uint8Array): grpc.ChannelCredentials {
  return new PinnedChannelCredentials(tlsPinOf(publicKey), toHex(publicKey));
}

/**
 * TLS without a pin: encrypted, but any certificate is accepted. Only for
 * calls that carry nothing secret and whose answer is not trusted, namely
 * grpc.health.v1 probes of an address (`intergrid health`, container health
 * checks), where no key is known.
 */
export function unpinnedChannelCredentials(): grpc.ChannelCredentials {
  return unverified;
}

/** Server credentials: TLS with the self-signed certificate of the service's key, no client certificates. */
export function tlsServerCredentials(pair: { certPem: Buffer; keyPem: Buffer }): grpc.ServerCredentials {
  return grpc.ServerCredentials.createSsl(null, [{ private_key: pair.keyPem, cert_chain: pair.certPem }], false);
}
