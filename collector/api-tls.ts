// HTTPS for the API (http.tls): the certificate and key are re-read when they change and
// swapped into the running server (tls.Server.setSecureContext), no restart needed.
import type { SecureContextOptions, Server as TlsServer } from 'node:tls';
import { TlsMaterial, type Logger } from '../common/index.js';
import type { HttpTlsConfig } from './config.js';

const CHECK_MS = 2000;

export class ApiTls {
  private readonly material: TlsMaterial;
  private server: TlsServer | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(config: HttpTlsConfig, logger: Logger) {
    const log = logger.child({ component: 'http' });
    this.material = new TlsMaterial(config.files, {
      checkMs: 0,
      onReload: (pem) => {
        this.server?.setSecureContext(this.options());
        log.info(
          { certFile: config.files.cert!.file, names: pem.names, notAfter: pem.notAfter?.toISOString() },
          'HTTPS certificate re-read; new connections use it',
        );
      },
      onError: (err) => log.error({ error: err.message }, 'HTTPS certificate files changed but do not load; keeping the previous ones'),
    });
  }

  /** Options for the HTTPS server (the current certificate and key). */
  options(): SecureContextOptions {
    const pem = this.material.current();
    return { cert: pem.cert, key: pem.key };
  }

  /** Watches the files for `server` (the API's https.Server). */
  watch(server: unknown): void {
    this.server = server as TlsServer;
    this.timer = setInterval(() => this.material.refresh(), CHECK_MS);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
  }
}
