// Which of the four kinds a process is, from its argv (/proc/<pid>/cmdline) and comm.
// The exe link is not used: Debian's redis-server and redis-sentinel are symlinks to
// redis-check-rdb, and reading another user's exe link needs ptrace rights.
import type { DiscoveredKind } from './types.js';

const REDIS_NAMES = new Set(['redis-server', 'codis-server', 'valkey-server', 'keydb-server']);
const SENTINEL_NAMES = new Set(['redis-sentinel', 'valkey-sentinel']);
const NUTCRACKER_NAMES = new Set(['nutcracker', 'twemproxy']);
const CODIS_PROXY_NAMES = new Set(['codis-proxy']);
const CODIS_DASHBOARD_NAMES = new Set(['codis-dashboard']);
/** Titles Redis gives its fork children; they hold the parent's sockets for a moment and are not instances. */
const REDIS_CHILD_TITLE = /^redis-(rdb-bgsave|aof-rewrite|rdb-to-slaves|module-fork)$/;

/** cmdline is NUL-separated; Redis pads its rewritten title with NULs. */
export function splitCmdline(raw: string): string[] {
  const argv = raw.split('\0');
  while (argv.length > 0 && argv[argv.length - 1] === '') argv.pop();
  return argv;
}

const basename = (p: string): string => p.slice(p.lastIndexOf('/') + 1);

/** The program name argv[0] shows: the first word of a rewritten title, without its directory. */
export function programName(argv: readonly string[]): string {
  const first = argv[0] ?? '';
  const space = first.indexOf(' ');
  return basename(space < 0 ? first : first.slice(0, space));
}

export function identifyProcess(argv: readonly string[], comm: string): DiscoveredKind | undefined {
  const prog = programName(argv);
  if (REDIS_CHILD_TITLE.test(prog)) return undefined;
  const names = [prog, comm.trim()];
  const has = (set: Set<string>): boolean => names.some((n) => set.has(n));
  if (has(SENTINEL_NAMES)) return 'sentinel';
  if (has(REDIS_NAMES)) {
    const sentinelMode = argv.includes('--sentinel') || /\[sentinel\]\s*$/.test(argv.join(' '));
    return sentinelMode ? 'sentinel' : 'redis';
  }
  if (has(NUTCRACKER_NAMES)) return 'nutcracker';
  if (has(CODIS_PROXY_NAMES)) return 'codis-proxy';
  if (has(CODIS_DASHBOARD_NAMES)) return 'codis-dashboard';
  return undefined;
}

export interface RedisTitle {
  /** Listen host from the title: '*' for every address. */
  host: string;
  port: number;
  /** 'cluster', 'sentinel' or ''. */
  mode: string;
}

/**
 * Redis's default title is "{title} {listen-addr} {server-mode}", e.g. `redis-server 127.0.0.1:6379`,
 * `redis-sentinel *:26379 [sentinel]`, `redis-server fd00::2:16384`. The port shown is the plain port,
 * or the TLS port when the plain one is 0. Before the rewrite (or with set-proc-title no) argv is the
 * original command line, where `--port N` may be given.
 */
export function parseRedisTitle(argv: readonly string[]): RedisTitle | undefined {
  const words = (argv[0] ?? '').split(' ').filter(Boolean);
  const listen = words[1];
  if (listen !== undefined) {
    const colon = listen.lastIndexOf(':');
    const port = Number(listen.slice(colon + 1));
    if (colon > 0 && Number.isInteger(port) && port > 0 && port < 65536) {
      const mode = /^\[(\w+)\]$/.exec(words[2] ?? '')?.[1] ?? '';
      return { host: listen.slice(0, colon), port, mode };
    }
  }
  const portArg = optionValue(argv, ['--port']);
  const port = Number(portArg);
  if (portArg !== undefined && Number.isInteger(port) && port > 0 && port < 65536) {
    return { host: '*', port, mode: argv.includes('--sentinel') ? 'sentinel' : '' };
  }
  return undefined;
}

/** `--name value` or `--name=value` (the last one given wins, like the programs themselves). */
function optionValue(argv: readonly string[], names: string[]): string | undefined {
  let value: string | undefined;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    for (const n of names) {
      if (a === n && i + 1 < argv.length) value = argv[i + 1];
      else if (a.startsWith(`${n}=`)) value = a.slice(n.length + 1);
    }
  }
  return value;
}

export interface NutcrackerArgs {
  statsAddr: string;
  statsPort: number;
  configFile?: string;
}

// nutcracker 0.5.0's getopt string "hVtdDv:o:c:s:i:a:p:m:" and its long names.
const NUTCRACKER_FLAGS = new Set('hVtdD');
const NUTCRACKER_WITH_VALUE = new Set('vocsiapm');
const NUTCRACKER_LONG: Record<string, string> = {
  'conf-file': 'c',
  'stats-port': 's',
  'stats-addr': 'a',
  'stats-interval': 'i',
  output: 'o',
  verbose: 'v',
  'pid-file': 'p',
  'mbuf-size': 'm',
};
export const NUTCRACKER_DEFAULT_STATS_PORT = 22222;
export const NUTCRACKER_DEFAULT_STATS_ADDR = '0.0.0.0';

/** nutcracker's stats interval when its command line does not say (its default, ms). */
export const NUTCRACKER_DEFAULT_STATS_INTERVAL_MS = 30_000;

/** nutcracker's option values by short name, parsed the way its getopt_long does (`-s 22222`, `-s22222`, `--stats-port=22222`, `-dc conf`). */
function nutcrackerOptions(argv: readonly string[]): Map<string, string> {
  const values = new Map<string, string>();
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const short = NUTCRACKER_LONG[eq < 0 ? a.slice(2) : a.slice(2, eq)];
      if (!short) continue;
      if (eq >= 0) values.set(short, a.slice(eq + 1));
      else if (i + 1 < argv.length) values.set(short, argv[++i]!);
    } else if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const c = a[j]!;
        if (NUTCRACKER_FLAGS.has(c)) continue;
        if (!NUTCRACKER_WITH_VALUE.has(c)) break;
        if (j + 1 < a.length) values.set(c, a.slice(j + 1));
        else if (i + 1 < argv.length) values.set(c, argv[++i]!);
        break;
      }
    }
  }
  return values;
}

/** nutcracker's options: stats address and port, config file. */
export function parseNutcrackerArgs(argv: readonly string[]): NutcrackerArgs {
  const values = nutcrackerOptions(argv);
  const port = Number(values.get('s'));
  const out: NutcrackerArgs = {
    statsAddr: values.get('a') ?? NUTCRACKER_DEFAULT_STATS_ADDR,
    statsPort: Number.isInteger(port) && port > 0 && port < 65536 ? port : NUTCRACKER_DEFAULT_STATS_PORT,
  };
  const conf = values.get('c');
  if (conf !== undefined) out.configFile = conf;
  return out;
}

/** `-i` / `--stats-interval` in ms, or nutcracker's default. */
export function parseNutcrackerStatsInterval(argv: readonly string[]): number {
  const ms = Number(nutcrackerOptions(argv).get('i'));
  return Number.isInteger(ms) && ms > 0 ? ms : NUTCRACKER_DEFAULT_STATS_INTERVAL_MS;
}

export interface CodisProxyArgs {
  configFile?: string;
  /** --product_name overrides the TOML's product_name. */
  productName?: string;
}

/** codis-proxy's (and codis-dashboard's) docopt options: `--config=proxy.toml` (also `--config proxy.toml`, `-c proxy.toml`). */
export function parseCodisProxyArgs(argv: readonly string[]): CodisProxyArgs {
  const out: CodisProxyArgs = {};
  const conf = optionValue(argv, ['--config', '-c']);
  if (conf !== undefined) out.configFile = conf;
  const product = optionValue(argv, ['--product_name']);
  if (product !== undefined) out.productName = product;
  return out;
}
