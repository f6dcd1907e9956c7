// Test certificates made with the real openssl binary in a temp dir: a CA, server and
// client certificates signed by it, an expired one, and a second (untrusted) CA.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface CertPair {
  cert: string;
  key: string;
}

export interface CertOptions {
  /** Subject CN. */
  cn: string;
  /** subjectAltName entries, e.g. ['DNS:localhost', 'IP:127.0.0.1', 'URI:spiffe://fleet/h1']. */
  san?: string[];
  /** Validity in days; negative makes a certificate that has already expired. */
  days?: number;
  /** serverAuth (default) or clientAuth. */
  usage?: 'server' | 'client';
  /** Sign with this CA instead of the default one. */
  ca?: CertPair;
  /** File name stem (default: the CN). */
  name?: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A certificate authority in `dir` that issues leaf certificates. */
export class TestCa {
  readonly cert: string;
  readonly key: string;

  private constructor(
    readonly dir: string,
    readonly name: string,
  ) {
    this.cert = path.join(dir, `${name}.crt`);
    this.key = path.join(dir, `${name}.key`);
  }

  /** Creates a self-signed CA (EC P-256, 10 years) named `name` in `dir`. */
  static create(dir: string, name = 'ca'): TestCa {
    const ca = new TestCa(dir, name);
    openssl(
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        ca.key,
        '-out',
        ca.cert,
        '-days',
        '3650',
        '-subj',
        `/CN=redis-fleet test ${name}`,
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ],
      dir,
    );
    return ca;
  }

  get pair(): CertPair {
    return { cert: this.cert, key: this.key };
  }

  /** Issues a leaf certificate; returns the file paths. */
  issue(o: CertOptions): CertPair {
    const stem = path.join(this.dir, o.name ?? o.cn.replace(/[^A-Za-z0-9_.-]/g, '_'));
    const out = { cert: `${stem}.crt`, key: `${stem}.key` };
    const csr = `${stem}.csr`;
    const ext = `${stem}.ext`;
    openssl(
      ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', out.key, '-out', csr, '-subj', `/CN=${o.cn}`],
      this.dir,
    );
    const lines = [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      `extendedKeyUsage=${o.usage === 'client' ? 'clientAuth' : 'serverAuth'}`,
    ];
    if (o.san?.length) lines.push(`subjectAltName=${o.san.join(',')}`);
    fs.writeFileSync(ext, lines.join('\n') + '\n');
    const signer = o.ca ?? this.pair;
    openssl(
      [
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        signer.cert,
        '-CAkey',
        signer.key,
        '-CAcreateserial',
        '-out',
        out.cert,
        '-days',
        String(o.days ?? 30),
        '-extfile',
        ext,
      ],
      this.dir,
    );
    fs.rmSync(csr);
    fs.rmSync(ext);
    return out;
  }
}

/** The usual set for TLS tests, all under `dir`. */
export interface TestPki {
  ca: TestCa;
  /** A second CA the collector and agents do not trust. */
  otherCa: TestCa;
  /** CN collector, SAN DNS:localhost, IP:127.0.0.1. */
  server: CertPair;
  /** Same names, but expired yesterday. */
  expiredServer: CertPair;
  /** Same names, issued by otherCa. */
  wrongCaServer: CertPair;
  /** Client certificate for host h1 (CN h1) and h2 (CN h2, URI SAN spiffe://fleet/h2). */
  client: (hostId: string) => CertPair;
}

export function makePki(dir: string): TestPki {
  fs.mkdirSync(dir, { recursive: true });
  const ca = TestCa.create(dir, 'ca');
  const otherCa = TestCa.create(dir, 'other-ca');
  const san = ['DNS:localhost', 'IP:127.0.0.1'];
  return {
    ca,
    otherCa,
    server: ca.issue({ cn: 'collector', san, name: 'server' }),
    expiredServer: ca.issue({ cn: 'collector', san, days: -1, name: 'server-expired' }),
    wrongCaServer: otherCa.issue({ cn: 'collector', san, name: 'server-other-ca' }),
    client: (hostId) => ca.issue({ cn: hostId, san: [`URI:spiffe://fleet/${hostId}`], usage: 'client', name: `client-${hostId}` }),
  };
}
