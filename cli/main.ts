#!/usr/bin/env node
// redis-fleet: the operator's command line. status (this host), check-config, collector ..., token ...
// Strict flags (common/args.ts): --help anywhere prints and exits 0 doing nothing else; an unknown
// flag exits 64 with the usage.
import fs from 'node:fs';
import { AGENT_DEFAULTS, AGENT_VERSION } from '../agent/index.js';
import { EX_USAGE, parseCommandLine, UsageError, type OptionSpec, type OptionValues } from '../common/index.js';
import { checkConfig } from './check-config.js';
import { ApiError, collectorCommand, COLLECTOR_OPTIONS, COLLECTOR_USAGE, type CollectorValues } from './collector.js';
import { statusCommand } from './status.js';
import { tokenCommand, TOKEN_USAGE } from './token.js';

const indent = (s: string) => s.replace(/\n/g, '\n  ');

const COMMANDS: Record<string, { usage: string; options: OptionSpec }> = {
  status: {
    usage: 'redis-fleet status [--status-file FILE] [--json]          this host: instances, proxies, persistence, guard, last report',
    options: { 'status-file': { type: 'string' } },
  },
  'check-config': {
    usage: 'redis-fleet check-config agent|collector FILE [--json]     validate a config as the program would (exit 78 on an error)',
    options: {},
  },
  collector: { usage: COLLECTOR_USAGE, options: COLLECTOR_OPTIONS as unknown as OptionSpec },
  token: { usage: TOKEN_USAGE, options: { file: { type: 'string' } } },
};

const USAGE = `usage:
  ${Object.values(COMMANDS)
    .map((c) => indent(c.usage))
    .join('\n  ')}
  redis-fleet --help | --version
The collector URL defaults to $REDIS_FLEET_URL or http://127.0.0.1:7401.
Exit codes: 0 ok, 1 the collector refused, 64 bad command line, 69 unreachable, 77 token missing or too weak, 78 bad config.`;

const GLOBAL: OptionSpec = { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' }, json: { type: 'boolean' } };

function out(text: string, code = 0): number {
  (code === 0 ? process.stdout : process.stderr).write(text + '\n');
  return code;
}

function readToken(values: OptionValues): string | undefined {
  const file = values['token-file'];
  if (typeof file === 'string') {
    try {
      return fs.readFileSync(file, 'utf8').split(/\r?\n/)[0]!.trim();
    } catch (err) {
      throw new UsageError(`--token-file: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }
  return process.env.REDIS_FLEET_TOKEN || undefined;
}

async function main(argv: string[]): Promise<number> {
  const cmd = argv.find((a) => !a.startsWith('-'));
  const spec = cmd ? COMMANDS[cmd] : undefined;
  if (cmd && !spec) return out(`redis-fleet: unknown command ${JSON.stringify(cmd)}\n${USAGE}`, EX_USAGE);
  let values: OptionValues;
  let positionals: string[];
  try {
    ({ values, positionals } = parseCommandLine(argv, { ...GLOBAL, ...spec?.options }));
  } catch (err) {
    return out(`redis-fleet: ${(err as Error).message}\n${spec ? `usage: ${spec.usage}` : USAGE}`, EX_USAGE);
  }
  if (values.help) return out(spec ? `usage: ${spec.usage}` : USAGE);
  if (values.version) return out(`redis-fleet ${AGENT_VERSION}`);
  if (!cmd) return out(USAGE, EX_USAGE);
  const json = values.json === true;
  const args = positionals.slice(1);
  const print = (r: { out: string; code: number }) => out(r.out, r.code);
  switch (cmd) {
    case 'status':
      if (args.length) return out(`redis-fleet: status takes no argument\nusage: ${spec!.usage}`, EX_USAGE);
      return print(statusCommand(String(values['status-file'] ?? process.env.REDIS_FLEET_STATUS_FILE ?? AGENT_DEFAULTS.statusFile), json));
    case 'check-config':
      if (args.length !== 2) return out(`usage: ${spec!.usage}`, EX_USAGE);
      return print(checkConfig(args[0]!, args[1]!, json));
    case 'token': {
      const r = tokenCommand(args, (values.file as string | undefined) ?? process.env.REDIS_FLEET_TOKENS_FILE, json);
      if (r.err) process.stderr.write(r.err + '\n');
      if (r.out) process.stdout.write(r.out + '\n');
      return r.code;
    }
    default: {
      const url = String(values.url ?? process.env.REDIS_FLEET_URL ?? 'http://127.0.0.1:7401');
      try {
        return out(await collectorCommand({ url, json, token: readToken(values) }, args, values as CollectorValues));
      } catch (err) {
        if (err instanceof UsageError) return out(`redis-fleet: ${err.message}`, EX_USAGE);
        if (!(err instanceof ApiError)) throw err;
        const code = err.status === -1 ? EX_USAGE : err.status === 0 ? 69 : err.status === 401 || err.status === 403 ? 77 : 1;
        const hint = err.status === 401 && !readToken(values) ? ' (give a token: --token-file FILE or $REDIS_FLEET_TOKEN)' : '';
        return out(`redis-fleet: ${err.message}${hint}`, code);
      }
    }
  }
}

process.exitCode = await main(process.argv.slice(2));
