// codis's xauth (pkg/utils/rpc/crypto.go NewXAuth): the first 16 bytes of
// sha256("Codis-XAuth" + "-[seg]"...) in hex. The proxy's is over (product_name,
// product_auth, token); the dashboard's over product_name alone. An empty segment still
// counts ("-[]"). The result is a credential: never log it.
import { createHash } from 'node:crypto';

export function codisXAuth(...segments: string[]): string {
  const text = `Codis-XAuth${segments.map((s) => `-[${s}]`).join('')}`;
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

export function codisProxyXAuth(productName: string, productAuth: string, token: string): string {
  return codisXAuth(productName, productAuth, token);
}

export function codisDashboardXAuth(productName: string): string {
  return codisXAuth(productName);
}
