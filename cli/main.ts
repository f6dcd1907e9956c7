#!/usr/bin/env node
// redis-fleet: the operator's command line. status (this host), check-config, collector ...
import fs from 'node:fs';
import { AGENT_DEFAULTS } from '../agent/index.js';
import { checkConfig } from './check-config.js';
import { ApiError, collectorCommand, COLLECTOR_USAGE } from './collector.js';
import { statusCommand } from './status.js';

const USAGE = `usage:
  redis-fleet status [--status-file FILE] [--json]          this host: instances, proxies, persistence, guard, last report
  redis-fleet check-config agent|collector FILE [--json]     validate a config as the program would (exit 78 on an error)
  ${COLLECTOR_USAGE.replace(/\n/g, '\n  ')}
The collector URL defaults to $REDIS_FLEET_URL or http://127.0.0.1:7401.`;

function take(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
}

async function main(argv: string[]): Promise<number> {
  const args = [...argv];
  const json = args.includes('--json');
  if (json) args.splice(args.indexOf('--json'), 1);
  const [cmd, ...rest] = args;
  const print = (r: { out: string; code: number }) => { (r.code === 0 ? process.stdout : process.stderr).write(r.out + '\n'); return r.code; };
  switch (cmd) {
    case 'status': {
      const file = take(rest, '--status-file') ?? process.env.REDIS_FLEET_STATUS_FILE ?? AGENT_DEFAULTS.statusFile;
      return print(statusCommand(file, json));
    }
    case 'check-config':
      if (rest.length !== 2) return print({ out: USAGE, code: 64 });
      return print(checkConfig(rest[0]!, rest[1]!, json));
    case 'collector': {
      const url = take(rest, '--url') ?? process.env.REDIS_FLEET_URL ?? 'http://127.0.0.1:7401';
      const tokenFile = take(rest, '--token-file');
      const token = tokenFile ? fs.readFileSync(tokenFile, 'utf8').trim() : process.env.REDIS_FLEET_TOKEN;
      try {
        process.stdout.write(await collectorCommand({ url, json, token }, rest) + '\n');
        return 0;
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        process.stderr.write(`redis-fleet: ${err.message}\n`);
        return err.status === -1 ? 64 : err.status === 0 ? 69 : 1;
      }
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE + '\n');
      return cmd === undefined ? 64 : 0;
    default:
      process.stderr.write(`redis-fleet: unknown command ${JSON.stringify(cmd)}\n${USAGE}\n`);
      return 64;
  }
}

process.exitCode = await main(process.argv.slice(2));
