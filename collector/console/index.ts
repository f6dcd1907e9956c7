// The fleet console: one static page, a stylesheet and a script, served by the collector's
// HTTP API at GET /console. The page polls the JSON API (relative URLs) and renders it with
// DOM text nodes only; a strict Content-Security-Policy forbids inline script and style and
// any other origin, so even a value that slipped through could not run.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { CONSOLE_HTML } from './page.js';
import { CONSOLE_CSS } from './style.js';
import { CONSOLE_JS } from './client.js';
import { CHARTS_JS } from './charts.js';

// uPlot's browser build, read once from node_modules (a dependency, so it is installed wherever
// the collector is): the console never loads anything from another origin.
let uplot: { js: string; css: string } | undefined;
function uplotFiles(): { js: string; css: string } {
  if (!uplot) {
    const require = createRequire(import.meta.url);
    const dist = (name: string) => fs.readFileSync(require.resolve(`uplot/dist/${name}`), 'utf8');
    uplot = { js: dist('uPlot.iife.min.js'), css: dist('uPlot.min.css') };
  }
  return uplot;
}

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function send(reply: FastifyReply, type: string, body: string) {
  return reply
    .header('content-type', type)
    .header('cache-control', 'no-cache')
    .header('content-security-policy', CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .send(body);
}

export function registerConsoleRoutes(app: FastifyInstance): void {
  app.get('/console', async (_req, reply) => send(reply, 'text/html; charset=utf-8', CONSOLE_HTML));
  // The page's relative URLs assume /console without the slash.
  app.get('/console/', async (_req, reply) => reply.redirect('../console', 301));
  app.get('/console/console.css', async (_req, reply) => send(reply, 'text/css; charset=utf-8', CONSOLE_CSS));
  app.get('/console/console.js', async (_req, reply) => send(reply, 'text/javascript; charset=utf-8', CONSOLE_JS));
  app.get('/console/charts.js', async (_req, reply) => send(reply, 'text/javascript; charset=utf-8', CHARTS_JS));
  app.get('/console/uplot.js', async (_req, reply) => send(reply, 'text/javascript; charset=utf-8', uplotFiles().js));
  app.get('/console/uplot.css', async (_req, reply) => send(reply, 'text/css; charset=utf-8', uplotFiles().css));
}
