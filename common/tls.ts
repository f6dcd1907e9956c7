// TLS material (certificate, key, CA bundle) read from files and re-read when a file
// changes, so certificates rotate without a restart; plus the words for TLS failures,
// shared by the agent, the collector's gRPC listener and its HTTPS API.
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { PeerCertificate } from 'node:tls';
import { ConfigError } from './config.js';

/** One file of the material and the config key that names it (for error texts). */
export interface TlsFile {
  file: string;
  key: string;
}

export interface TlsFiles {
  cert?: TlsFile;
  key?: TlsFile;
  ca?: TlsFile;
}

/** The PEM texts as last read successfully. */
export interface TlsPem {
  cert?: string;
  key?: string;
  ca?: string;
  /** Increments on every successful (re)load. */
  version: number;
  /** The leaf certificate's notAfter, when there is a certificate. */
  notAfter?: Date;
  /** Names the certificate covers (CN, DNS and IP SANs), for messages. */
  names: string[];
}

function readPem(f: TlsFile): string {
  let text: string;
  try {
    text = fs.readFileSync(f.file, 'utf8');
  } catch (err) {
    throw new ConfigError(f.key, `cannot read ${f.file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (!/-----BEGIN [A-Z0-9 ]+-----/.test(text)) throw new ConfigError(f.key, `${f.file} holds no PEM block`);
  return text;
}

function stamp(f: TlsFile | undefined): string {
  if (!f) return '-';
  try {
    const s = fs.statSync(f.file);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

/** Reads and checks the material: each PEM parses, the key matches the certificate. */
export function readTlsPem(files: TlsFiles, version = 1): TlsPem {
  const pem: TlsPem = { version, names: [] };
  if (files.cert) {
    pem.cert = readPem(files.cert);
    let x509: crypto.X509Certificate;
    try {
      x509 = new crypto.X509Certificate(pem.cert);
    } catch (err) {
      throw new ConfigError(files.cert.key, `${files.cert.file} is not a PEM certificate: ${(err as Error).message}`);
    }
    pem.notAfter = new Date(x509.validTo);
    pem.names = x509Names(x509);
    if (files.key) {
      pem.key = readPem(files.key);
      let key: crypto.KeyObject;
      try {
        key = crypto.createPrivateKey(pem.key);
      } catch (err) {
        throw new ConfigError(files.key.key, `${files.key.file} is not a PEM private key: ${(err as Error).message}`);
      }
      if (!x509.checkPrivateKey(key)) {
        throw new ConfigError(files.key.key, `${files.key.file} does not match the certificate in ${files.cert.file} (${files.cert.key})`);
      }
    }
  } else if (files.key) {
    throw new ConfigError(files.key.key, `is set without a certificate file`);
  }
  if (files.ca) {
    pem.ca = readPem(files.ca);
    try {
      new crypto.X509Certificate(pem.ca);
    } catch (err) {
      throw new ConfigError(files.ca.key, `${files.ca.file} is not a PEM certificate: ${(err as Error).message}`);
    }
  }
  return pem;
}

function x509Names(x: crypto.X509Certificate): string[] {
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(x.subject)?.[1];
  const sans = (x.subjectAltName ?? '')
    .split(/,\s*/)
    .filter(Boolean)
    .map((s) => s.replace(/^IP Address:/, 'IP:'));
  return [...(cn ? [`CN=${cn}`] : []), ...sans];
}

/**
 * TLS material that re-reads its files when one of them changed (inode, size or mtime),
 * at most once per `checkMs`. A new set that does not load (say the certificate was
 * replaced but not yet its key) is reported once through `onError` and the previous
 * material is kept until the files are consistent again.
 */
export class TlsMaterial {
  private pem: TlsPem;
  private stamps: string;
  private checkedAt = 0;
  private failing = '';

  constructor(
    readonly files: TlsFiles,
    private readonly hooks: { onReload?: (pem: TlsPem) => void; onError?: (err: ConfigError) => void; checkMs?: number } = {},
  ) {
    this.stamps = this.stampAll();
    this.pem = readTlsPem(files);
  }

  private stampAll(): string {
    return [stamp(this.files.cert), stamp(this.files.key), stamp(this.files.ca)].join('|');
  }

  /** The current material, re-read first when a file changed. */
  current(): TlsPem {
    this.refresh();
    return this.pem;
  }

  /** Re-reads the files when they changed; returns true when new material was loaded. */
  refresh(force = false): boolean {
    const now = Date.now();
    if (!force && now - this.checkedAt < (this.hooks.checkMs ?? 1000)) return false;
    this.checkedAt = now;
    const stamps = this.stampAll();
    if (stamps === this.stamps) return false;
    try {
      const next = readTlsPem(this.files, this.pem.version + 1);
      this.stamps = stamps;
      this.failing = '';
      if (next.cert === this.pem.cert && next.key === this.pem.key && next.ca === this.pem.ca) return false;
      this.pem = next;
      this.hooks.onReload?.(next);
      return true;
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      // Keep the stamps unchanged so the next check tries again.
      if (this.failing !== err.message) {
        this.failing = err.message;
        this.hooks.onError?.(err);
      }
      return false;
    }
  }
}

/** Identities a peer certificate carries: its CN, DNS names and URIs (SANs). */
export function certIdentities(cert: Pick<PeerCertificate, 'subject' | 'subjectaltname'> | undefined): string[] {
  if (!cert) return [];
  const out: string[] = [];
  const cn = cert.subject?.CN;
  if (typeof cn === 'string' && cn) out.push(cn);
  else if (Array.isArray(cn)) out.push(...(cn as string[]));
  for (const part of (cert.subjectaltname ?? '').split(/,\s*/)) {
    const m = /^(DNS|URI):(.+)$/.exec(part.trim());
    if (m && !out.includes(m[2]!)) out.push(m[2]!);
  }
  return out;
}

/** The kinds of TLS failure the operator is told about, each with its own wording. */
export type TlsFailure = 'unknown-ca' | 'expired' | 'not-yet-valid' | 'name-mismatch' | 'not-tls' | 'peer-refused-cert' | 'no-client-cert';

const CA_CODES =
  /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|CERT_SIGNATURE_FAILURE|unable to verify the first certificate|self[- ]signed certificate|unable to get (local )?issuer certificate|certificate signature failure/i;

/** Classifies a Node/OpenSSL TLS error text or code (undefined when it is not a TLS problem we know). */
export function classifyTlsError(text: string): TlsFailure | undefined {
  if (/alert (unknown ca|bad certificate|certificate expired|certificate revoked|certificate unknown)|alert handshake failure/i.test(text))
    return 'peer-refused-cert';
  if (/alert certificate required|peer did not return a certificate/i.test(text)) return 'no-client-cert';
  if (/CERT_HAS_EXPIRED|certificate has expired/i.test(text)) return 'expired';
  if (/CERT_NOT_YET_VALID|certificate is not yet valid/i.test(text)) return 'not-yet-valid';
  if (/ERR_TLS_CERT_ALTNAME_INVALID|does not match certificate's altnames|Hostname\/IP does not match/i.test(text)) return 'name-mismatch';
  if (CA_CODES.test(text)) return 'unknown-ca';
  if (
    /wrong version number|packet length too long|unknown protocol|disconnected before secure TLS connection|record layer failure|http request/i.test(
      text,
    )
  )
    return 'not-tls';
  return undefined;
}
