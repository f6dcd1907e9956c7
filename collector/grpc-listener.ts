// The gRPC port's TCP side. We accept connections ourselves and hand them to grpc-js
// (Server.createConnectionInjector) so that we can look at the first byte: a plaintext
// client on the TLS port, or a TLS client on the plaintext port, is told so once in the
// log instead of failing with a bare protocol error; and so that every new connection
// gets the current certificate (TlsMaterial re-reads rotated files). With mutual TLS the
// peer's certificate and its verification result are kept per connection for
// FleetGrpcServer to admit or refuse the stream (see docs/security.md).
import net from 'node:net';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { OnceLog, TlsMaterial, certIdentities, type Logger, type TlsPem } from '../common/index.js';
import type { GrpcTlsConfig, ListenAddress } from './config.js';

/** What the listener learnt about one connection (keyed like grpc's call.getPeer()). */
interface PeerInfo {
  tls: boolean;
  /** A plaintext client on the TLS port: every call on it is refused with an explanation. */
  plaintextOnTls: boolean;
  identities: string[];
  /** Verification error of the client certificate (mutual TLS), '' when it verified. */
  certError: string;
  hasCert: boolean;
  calls: number;
  servername: string;
}

export interface Refusal {
  code: grpc.status;
  details: string;
}

const TLS_HANDSHAKE = 0x16;
const FIRST_BYTE_TIMEOUT_MS = 10_000;

/** The server_name (SNI) of a TLS ClientHello record, '' when absent or not parseable (RFC 8446 §4.1.2, RFC 6066 §3). */
export function sniOf(buf: Buffer): string {
  try {
    if (buf[0] !== TLS_HANDSHAKE || buf[5] !== 0x01) return '';
    let p = 43;
    p += 1 + buf[p]!; // session id
    p += 2 + buf.readUInt16BE(p); // cipher suites
    p += 1 + buf[p]!; // compression methods
    const end = Math.min(buf.length, p + 2 + buf.readUInt16BE(p));
    p += 2;
    while (p + 4 <= end) {
      const type = buf.readUInt16BE(p);
      const len = buf.readUInt16BE(p + 2);
      if (type === 0 && buf[p + 6] === 0) return buf.toString('latin1', p + 9, p + 9 + buf.readUInt16BE(p + 7));
      p += 4 + len;
    }
  } catch {
    /* a truncated hello: no name */
  }
  return '';
}

function certErrorText(code: string): string {
  switch (code) {
    case 'CERT_HAS_EXPIRED':
      return "the agent's client certificate has expired";
    case 'CERT_NOT_YET_VALID':
      return "the agent's client certificate is not valid yet";
    default:
      return `the agent's client certificate is not signed by the CA in grpc.tls.clientCaFile (unknown CA: ${code})`;
  }
}

export class GrpcListener {
  private readonly netServer: net.Server;
  private readonly injector: ReturnType<grpc.Server['createConnectionInjector']>;
  private readonly peers = new Map<string, PeerInfo>();
  private readonly pending = new Set<net.Socket>();
  private readonly conns = new WeakMap<net.Socket, { ip: string; servername: string }>();
  private readonly once = new OnceLog();
  private readonly log: Logger;
  private readonly material: TlsMaterial | undefined;
  private readonly tlsServer: tls.Server | undefined;
  private pem: TlsPem | undefined;

  constructor(
    private readonly listenOn: ListenAddress,
    server: grpc.Server,
    private readonly tlsConfig: GrpcTlsConfig | undefined,
    logger: Logger,
  ) {
    this.log = logger.child({ component: 'grpc-listener' });
    this.injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    if (tlsConfig) {
      this.material = new TlsMaterial(tlsConfig.files, {
        onReload: (pem) => {
          this.log.info(
            { certFile: tlsConfig.files.cert!.file, names: pem.names, notAfter: pem.notAfter?.toISOString() },
            'gRPC TLS certificate re-read; new connections use it',
          );
          this.tlsServer?.setSecureContext(this.contextOptions(pem));
          this.pem = pem;
          this.checkExpiry(pem);
        },
        onError: (err) =>
          this.log.error({ error: err.message }, 'gRPC TLS files changed but do not load; keeping the previous certificate'),
      });
      this.pem = this.material.current();
      this.checkExpiry(this.pem);
      this.tlsServer = tls.createServer({
        ...this.contextOptions(this.pem),
        requestCert: tlsConfig.mutual,
        // Verification failures are answered inside gRPC (a status the agent can show), see admit().
        rejectUnauthorized: false,
        ALPNProtocols: ['h2'],
      });
      this.tlsServer.on('secureConnection', (s: tls.TLSSocket) => this.onSecure(s));
      this.tlsServer.on('tlsClientError', (err: Error, s: tls.TLSSocket) => this.onHandshakeError(err, s));
    }
    this.netServer = net.createServer({ noDelay: true }, (socket) => this.onConnection(socket));
  }

  private contextOptions(pem: TlsPem): tls.SecureContextOptions {
    return { cert: pem.cert, key: pem.key, ca: pem.ca };
  }

  private checkExpiry(pem: TlsPem): void {
    if (pem.notAfter && pem.notAfter.getTime() < Date.now()) {
      this.log.error(
        { certFile: this.tlsConfig!.files.cert!.file, notAfter: pem.notAfter.toISOString() },
        'the gRPC TLS certificate has expired: agents will refuse it (replace grpc.tls.certFile/keyFile; re-read without restart)',
      );
    }
  }

  async listen(): Promise<string> {
    const { host, port } = this.listenOn;
    await new Promise<void>((resolve, reject) => {
      this.netServer.once('error', reject);
      this.netServer.listen({ host, port }, () => {
        this.netServer.off('error', reject);
        resolve();
      });
    }).catch((err: NodeJS.ErrnoException) => {
      throw new Error(err.code === 'EADDRINUSE' ? 'address already in use' : (err.code ?? err.message));
    });
    const addr = this.netServer.address() as net.AddressInfo;
    return `${host.includes(':') ? `[${host}]` : host}:${addr.port}`;
  }

  private onConnection(socket: net.Socket): void {
    this.pending.add(socket);
    socket.on('error', () => {
      /* reported by whoever owns the socket next, or irrelevant */
    });
    socket.setTimeout(FIRST_BYTE_TIMEOUT_MS, () => socket.destroy());
    socket.once('close', () => this.pending.delete(socket));
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      socket.setTimeout(0);
      this.pending.delete(socket);
      // Both TLSSocket and the HTTP/2 session take over bytes already read (Node re-feeds the buffer).
      socket.unshift(chunk);
      const ip = socket.remoteAddress ?? '?';
      const looksTls = chunk[0] === TLS_HANDSHAKE;
      if (this.tlsServer) {
        if (looksTls) {
          this.conns.set(socket, { ip, servername: sniOf(chunk) });
          this.material!.refresh();
          this.tlsServer.emit('connection', socket);
          return;
        }
        if (this.once.enter(`plain:${ip}`, 'plaintext')) {
          this.log.error(
            { peer: ip },
            'plaintext client on the TLS gRPC port: the agent needs collector.tls (caFile) to reach this collector',
          );
        }
        this.track(socket, { tls: false, plaintextOnTls: true, identities: [], certError: '', hasCert: false, calls: 0, servername: '' });
        this.injector.injectConnection(socket);
        return;
      }
      if (looksTls) {
        if (this.once.enter(`tls:${ip}`, 'tls')) {
          this.log.error(
            { peer: ip },
            'TLS client on the plaintext gRPC port: set grpc.tls on the collector, or remove collector.tls from the agent',
          );
        }
        socket.destroy();
        return;
      }
      this.track(socket, { tls: false, plaintextOnTls: false, identities: [], certError: '', hasCert: false, calls: 0, servername: '' });
      this.injector.injectConnection(socket);
    });
  }

  /**
   * A handshake that did not complete. An agent that rejects our certificate (unknown CA,
   * expired, name mismatch) just drops the connection: Node clients send no alert.
   */
  private onHandshakeError(err: Error & { code?: string }, s: tls.TLSSocket): void {
    const conn = this.connOf(s);
    const ip = conn?.ip ?? s.remoteAddress ?? '?';
    if (err.code === 'ECONNRESET' || /socket hang up/i.test(err.message)) {
      this.earlyClose(ip, conn?.servername ?? '');
      return;
    }
    if (this.once.enter(`handshake:${ip}`, err.message)) {
      this.log.error({ peer: ip, error: err.message }, 'TLS handshake with an agent failed');
    }
  }

  /** The accepted connection under a TLS socket (Node keeps it as _parent). */
  private connOf(s: tls.TLSSocket): { ip: string; servername: string } | undefined {
    const parent = (s as unknown as { _parent?: net.Socket })._parent;
    return parent ? this.conns.get(parent) : undefined;
  }

  private onSecure(s: tls.TLSSocket): void {
    const cert = s.getPeerCertificate();
    const hasCert = !!cert && Object.keys(cert).length > 0;
    const info: PeerInfo = {
      tls: true,
      plaintextOnTls: false,
      hasCert,
      identities: hasCert ? certIdentities(cert) : [],
      certError: hasCert && !s.authorized ? String(s.authorizationError ?? 'not authorized') : '',
      calls: 0,
      servername: this.connOf(s)?.servername ?? '',
    };
    const openedAt = Date.now();
    const ip = s.remoteAddress ?? '?';
    this.track(s, info, () => {
      if (info.calls === 0 && Date.now() - openedAt < FIRST_BYTE_TIMEOUT_MS) this.earlyClose(ip, info.servername);
    });
    s.on('error', () => {
      /* the HTTP/2 session reports what matters */
    });
    this.injector.injectConnection(s);
  }

  /** An agent that closes right after the handshake has refused our certificate (its log says why). */
  private earlyClose(ip: string, servername: string): void {
    const pem = this.pem!;
    let kind: string;
    let reason: string;
    if (pem.notAfter && pem.notAfter.getTime() < Date.now()) {
      kind = 'expired';
      reason = `this collector's certificate expired at ${pem.notAfter.toISOString()} (grpc.tls.certFile)`;
    } else if (servername && !this.covers(servername)) {
      kind = 'name-mismatch';
      reason = `name mismatch: the agent asked for ${servername}, which this certificate does not cover (${pem.names.join(', ')})`;
    } else {
      kind = 'unknown-ca';
      reason = "the agent probably does not trust this certificate (unknown CA: check the agent's collector.tls.caFile)";
    }
    if (this.once.enter(`refused:${ip}`, kind)) {
      this.log.error({ peer: ip, tlsError: kind, reason }, 'agent closed the connection after the TLS handshake without a call');
    }
  }

  private covers(name: string): boolean {
    const names = this.pem!.names;
    const cn = names.find((n) => n.startsWith('CN='))?.slice(3);
    const subjectaltname = names
      .filter((n) => !n.startsWith('CN='))
      .map((n) => n.replace(/^IP:/, 'IP Address:'))
      .join(', ');
    return tls.checkServerIdentity(name, { subject: { CN: cn }, subjectaltname } as unknown as tls.PeerCertificate) === undefined;
  }

  private track(socket: net.Socket, info: PeerInfo, onClose?: () => void): void {
    const key = `${socket.remoteAddress}:${socket.remotePort}`;
    this.peers.set(key, info);
    socket.once('close', () => {
      if (this.peers.get(key) === info) this.peers.delete(key);
      onClose?.();
    });
  }

  /**
   * Whether a new stream from `peer` (call.getPeer()) may proceed: refused with a status the
   * agent shows (details start with "TLS: ") when it came in plaintext on the TLS port or,
   * with mutual TLS, without a valid client certificate.
   */
  admit(peer: string): Refusal | undefined {
    const info = this.peers.get(peer);
    if (!info) return undefined;
    info.calls++;
    const ip = peer.replace(/:\d+$/, '');
    if (info.plaintextOnTls) {
      return {
        code: grpc.status.UNAVAILABLE,
        details: 'TLS: this collector requires TLS on its gRPC port (set collector.tls.caFile on the agent)',
      };
    }
    if (this.tlsConfig?.mutual) {
      let details = '';
      if (!info.hasCert)
        details = 'TLS: no client certificate: this collector requires one (mutual TLS; set collector.tls.certFile/keyFile on the agent)';
      else if (info.certError) details = `TLS: ${certErrorText(info.certError)}`;
      if (details) {
        if (this.once.enter(`cert:${ip}`, details))
          this.log.error({ peer: ip, identities: info.identities, reason: details.slice(5) }, 'agent refused: client certificate');
        return { code: grpc.status.UNAUTHENTICATED, details };
      }
    }
    for (const key of [`handshake:${ip}`, `plain:${ip}`, `tls:${ip}`, `refused:${ip}`, `cert:${ip}`]) {
      if (this.once.clear(key)) this.log.info({ peer: ip }, 'agent connection fine again (TLS)');
    }
    return undefined;
  }

  /**
   * With mutual TLS: the host ids the peer's certificate may report as (grpc.tls.hostIdMap,
   * else the identities themselves). undefined when there is no binding (no mutual TLS).
   */
  allowedHostIds(peer: string): { identities: string[]; hostIds: string[] } | undefined {
    if (!this.tlsConfig?.mutual) return undefined;
    const info = this.peers.get(peer);
    if (!info) return { identities: [], hostIds: [] };
    const map = this.tlsConfig.hostIdMap;
    return { identities: info.identities, hostIds: info.identities.map((i) => map[i] ?? i) };
  }

  /** Stops accepting; connections already handed to grpc-js are closed by its shutdown. */
  close(): void {
    this.netServer.close();
    for (const s of this.pending) s.destroy();
  }
}
