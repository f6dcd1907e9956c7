// A real HTTP receiver on loopback for alerting tests: records every request, answers
// with a status/body the test chooses (per request: the answer sees what it got).
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';

/** Writes a rule file into a harness temp dir and returns its path. */
export async function writeRules(h: { tempDir(kind: string): Promise<string> }, text: string): Promise<string> {
  const file = path.join(await h.tempDir('rules'), 'rules.yaml');
  await fs.writeFile(file, text);
  return file;
}

export interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  raw: string;
  body: any;
  at: number;
}

export async function receiver(
  t: TestContext,
  answer: (req: Received) => { status: number; body: string } = () => ({ status: 200, body: 'ok' }),
) {
  const got: Received[] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', () => {
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
      }
      const rec: Received = { path: req.url ?? '', headers: req.headers, raw, body, at: Date.now() };
      got.push(rec);
      const a = answer(rec);
      res.writeHead(a.status, { 'content-type': 'application/json' }).end(a.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, got };
}
