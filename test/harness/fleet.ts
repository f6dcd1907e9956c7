// The project's own programs (collector, agent) run as real child processes from dist/.
import fs from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import type { Owner } from './launch.js';
import { freePort, LOOPBACK } from './ports.js';
import { spawnManaged, type ManagedProcess } from './process.js';
import { noteWait, waitFor, WaitAbort } from './wait.js';

/** Repository root (this file is dist/test/harness/fleet.js). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export type FleetKind = 'collector' | 'agent';

export const PROGRAMS: Record<FleetKind, string> = {
  collector: path.join(REPO_ROOT, 'dist/collector/main.js'),
  agent: path.join(REPO_ROOT, 'dist/agent/main.js'),
};

/**
 * The node flags a program's shebang carries (`#!/usr/bin/env -S node --flag ...`): the harness runs
 * the program the way it is installed, flags included (agent/main.ts).
 */
export function programNodeFlags(script: string): string[] {
  let first = '';
  try {
    first = readFileSync(script, 'utf8').split('\n', 1)[0]!;
  } catch {
    return [];
  }
  const m = /^#!.*\bnode((?:\s+--\S+)*)\s*$/.exec(first);
  return m ? m[1]!.trim().split(/\s+/).filter(Boolean) : [];
}

/** Token the harness writes to token files when the test gives none. */
export const DEFAULT_TOKEN = 'rf-test-token-0123456789abcdef';

/** API roles; the harness writes one token per role to http.tokenFile (as `test-<role>`) unless the config names its own. */
export type ApiRole = 'viewer' | 'operator' | 'admin';
/** Which token request()/api() send: a role's harness token (default admin), none, or a given one. */
export interface AsWho {
  as?: ApiRole | 'anonymous';
  token?: string;
}

/** A parsed stdout line: pino JSON, or `{msg, raw: true}` for anything that is not JSON. */
export type LogLine = Record<string, unknown> & { msg?: unknown; level?: unknown };

/** A log matcher: a predicate, a `msg` value, or an object whose entries must all equal the line's. */
export type LogMatcher = ((line: LogLine) => boolean) | string | Record<string, unknown>;

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface ProgramOptions {
  /** Extra environment (e.g. for passwordEnv / tokenEnv). */
  env?: NodeJS.ProcessEnv;
  /** Replace the default `--config <file>` arguments. */
  args?: string[];
  /** Readiness wait, default 30 s. */
  timeoutMs?: number;
  /** Don't wait for the ready log line (for tests of failing startups). */
  noWait?: boolean;
  /** Node flags instead of the program's shebang flags (benchmarks comparing V8 settings). */
  nodeFlags?: string[];
}

export interface CollectorOptions extends ProgramOptions {
  /** Tokens written to the token file when config.grpc.tokenFile is not set (default [DEFAULT_TOKEN]); exposed as `collector.tokens`. */
  tokens?: string[];
}

export interface AgentOptions extends ProgramOptions {
  /** Token written to the token file when config.collector.tokenFile/tokenEnv is not set (default DEFAULT_TOKEN). */
  token?: string;
  /** Fills config.collector.addresses with this collector's gRPC address when not set. */
  collector?: CollectorProcess;
}

function matches(line: LogLine, m: LogMatcher): boolean {
  if (typeof m === 'function') return m(line);
  if (typeof m === 'string') return line.msg === m;
  return Object.entries(m).every(([k, v]) => line[k] === v);
}

function describeMatcher(m: LogMatcher): string {
  return typeof m === 'function' ? 'a matching log line' : `log line ${JSON.stringify(m)}`;
}

/** A node program from dist/ with its stdout parsed as JSON log lines. restart() keeps config, dir and ports. */
export class FleetProcess {
  readonly kind: string;
  readonly dir: string;
  readonly configPath: string;
  /** Raw stdout (all runs appended). */
  readonly logFile: string;
  readonly stderrFile: string;
  protected proc!: ManagedProcess;
  protected readonly owner: Owner;
  private lines: LogLine[] = [];
  private stdoutText = '';
  private partial = '';
  private waiters = new Set<() => void>();
  private readonly script: string;
  private readonly args: string[];
  private readonly env: NodeJS.ProcessEnv | undefined;
  private readonly nodeFlags: string[];

  constructor(
    owner: Owner,
    init: { kind: string; script: string; dir: string; configPath: string; args?: string[]; env?: NodeJS.ProcessEnv; nodeFlags?: string[] },
  ) {
    this.owner = owner;
    this.kind = init.kind;
    this.script = init.script;
    this.dir = init.dir;
    this.configPath = init.configPath;
    this.args = init.args ?? ['--config', init.configPath];
    this.env = init.env;
    this.nodeFlags = init.nodeFlags ?? programNodeFlags(init.script);
    this.logFile = path.join(init.dir, 'stdout.log');
    this.stderrFile = path.join(init.dir, 'stderr.log');
  }

  /** Starts a new run (the previous one must have exited). Log lines of earlier runs are dropped. */
  spawn(): void {
    if (this.proc?.running) throw new Error(`${this.kind} is already running (pid ${this.proc.pid})`);
    this.lines = [];
    this.stdoutText = '';
    this.partial = '';
    this.proc = spawnManaged({
      name: this.kind,
      command: process.execPath,
      args: [...this.nodeFlags, this.script, ...this.args],
      cwd: REPO_ROOT,
      logFile: this.logFile,
      stderrFile: this.stderrFile,
      env: this.env,
      onStdout: (chunk) => this.onStdout(chunk),
    });
    this.owner.adopt(this.proc);
    void this.proc.exited.then(() => this.notify());
  }

  private onStdout(chunk: Buffer): void {
    const text = chunk.toString('utf8');
    this.stdoutText += text;
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop() ?? '';
    for (const raw of parts) {
      if (!raw.trim()) continue;
      try {
        const parsed: unknown = JSON.parse(raw);
        this.lines.push(parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as LogLine) : { msg: raw, raw: true });
      } catch {
        this.lines.push({ msg: raw, raw: true });
      }
    }
    this.notify();
  }

  private notify(): void {
    for (const wake of [...this.waiters]) wake();
  }

  get pid(): number {
    return this.proc.pid;
  }

  get running(): boolean {
    return this.proc.running;
  }

  get process(): ManagedProcess {
    return this.proc;
  }

  /** Exit code of the current run (null when killed by a signal). */
  get exitCode(): Promise<number | null> {
    return this.proc.exited.then((e) => e.code);
  }

  /** Parsed stdout lines of the current run. */
  logs(): LogLine[] {
    return [...this.lines];
  }

  /** Raw stdout text of the current run. */
  stdout(): string {
    return this.stdoutText;
  }

  /** Everything written to stderr (all runs). */
  async stderr(): Promise<string> {
    return fs.readFile(this.stderrFile, 'utf8').catch(() => '');
  }

  /**
   * Resolves with the first log line (of the current run) matching `m`, waiting up to timeoutMs. Rejects
   * early, with the output tail, if the process exits first.
   */
  waitForLog(m: LogMatcher, timeoutMs = 10_000): Promise<LogLine> {
    const found = this.lines.find((l) => matches(l, m));
    if (found) return Promise.resolve(found);
    const startedAt = Date.now();
    return new Promise<LogLine>((resolve, reject) => {
      let seen = 0;
      const check = () => {
        for (; seen < this.lines.length; seen++) {
          const line = this.lines[seen]!;
          if (matches(line, m)) {
            noteWait(`${describeMatcher(m)} from ${this.kind}`, Date.now() - startedAt, timeoutMs, true);
            return finish(() => resolve(line));
          }
        }
        if (this.proc.exit) {
          finish(() =>
            reject(
              new Error(
                `${this.kind} exited (code ${this.proc.exit!.code}, signal ${this.proc.exit!.signal}) before ${describeMatcher(m)}\n${this.proc.tail(30)}`,
              ),
            ),
          );
        }
      };
      const timer = setTimeout(() => {
        noteWait(`${describeMatcher(m)} from ${this.kind}`, Date.now() - startedAt, timeoutMs, false);
        finish(() =>
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${describeMatcher(m)} from ${this.kind}\n${this.proc.tail(30)}`)),
        );
      }, timeoutMs);
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        settle();
      };
      this.waiters.add(check);
      check();
    });
  }

  /** SIGTERM, wait for the exit (SIGKILL after graceMs), return the exit code (null = killed by a signal). */
  async stop(graceMs = 15_000): Promise<number | null> {
    return (await this.proc.stop(graceMs)).code;
  }

  /** Sends `signal` and waits for the exit; returns the exit code. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    return (await this.proc.kill(signal)).code;
  }

  pause(): void {
    this.proc.pause();
  }

  resume(): void {
    this.proc.resume();
  }

  tail(lines = 40): string {
    return this.proc.tail(lines);
  }
}

export class CollectorProcess extends FleetProcess {
  /** "host:port" from the `listening` line. */
  grpcAddress = '';
  /** Base URL ("http://127.0.0.1:port") from the `listening` line. */
  httpUrl = '';
  readonly tokenFile: string | undefined;
  /** Tokens the harness wrote to tokenFile (empty when the config named its own tokenFile). */
  readonly tokens: readonly string[];
  readonly config: Record<string, unknown>;
  /** The HTTP API token of each role, in the harness-written http.tokenFile (empty when the config named its own). */
  readonly apiTokens: Partial<Record<ApiRole, string>>;
  readonly apiTokenFile: string | undefined;

  constructor(
    owner: Owner,
    init: ConstructorParameters<typeof FleetProcess>[1] & {
      tokenFile?: string;
      tokens: string[];
      config: Record<string, unknown>;
      apiTokens?: Partial<Record<ApiRole, string>>;
      apiTokenFile?: string;
    },
  ) {
    super(owner, init);
    this.tokenFile = init.tokenFile;
    this.tokens = init.tokens;
    this.config = init.config;
    this.apiTokens = init.apiTokens ?? {};
    this.apiTokenFile = init.apiTokenFile;
  }

  /** The `authorization` header for `who` (none for anonymous or an unknown role). */
  authHeader(who: AsWho = {}): Record<string, string> {
    const token = who.token ?? (who.as === 'anonymous' ? undefined : this.apiTokens[who.as ?? 'admin']);
    return token === undefined ? {} : { authorization: `Bearer ${token}` };
  }

  /** Starts (or restarts after stop) and waits for the `listening` line. */
  async start(timeoutMs = 30_000): Promise<void> {
    this.spawn();
    const line = await this.waitForLog('listening', timeoutMs);
    this.grpcAddress = String(line.grpc ?? '');
    this.httpUrl = String(line.http ?? '').replace(/\/$/, '');
  }

  /** stop() then start() with the same config (same ports, store and token file). */
  async restart(timeoutMs = 30_000): Promise<void> {
    await this.stop();
    await this.start(timeoutMs);
  }

  /** GET (or `init`) httpUrl+path as `init.as` (default the admin token); returns status and parsed JSON body (raw text if not JSON). */
  async request(
    urlPath: string,
    init: RequestInit & AsWho = {},
  ): Promise<{ status: number; headers: Headers; body: unknown; text: string }> {
    if (!this.httpUrl) throw new Error('collector has no http URL (not started?)');
    const { as, token, ...rest } = init;
    const headers = { ...this.authHeader({ as, token }), ...(rest.headers as Record<string, string> | undefined) };
    const res = await fetch(this.httpUrl + urlPath, { signal: AbortSignal.timeout(10_000), ...rest, headers });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, headers: res.headers, body, text };
  }

  /** GET httpUrl+path → parsed JSON; throws (naming status and body) unless 2xx. */
  async api<T = any>(urlPath: string, who: AsWho = {}): Promise<T> {
    const res = await this.request(urlPath, who);
    if (res.status < 200 || res.status > 299) throw new Error(`GET ${urlPath} → HTTP ${res.status}: ${res.text}`);
    return res.body as T;
  }
}

export class AgentProcess extends FleetProcess {
  readonly tokenFile: string | undefined;
  readonly config: Record<string, unknown>;

  constructor(owner: Owner, init: ConstructorParameters<typeof FleetProcess>[1] & { tokenFile?: string; config: Record<string, unknown> }) {
    super(owner, init);
    this.tokenFile = init.tokenFile;
    this.config = init.config;
  }

  /** Starts (or restarts after stop) and waits for `agent started`. */
  async start(timeoutMs = 30_000): Promise<void> {
    this.spawn();
    await this.waitForLog('agent started', timeoutMs);
  }

  async restart(timeoutMs = 30_000): Promise<void> {
    await this.stop();
    await this.start(timeoutMs);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

async function writeConfig(dir: string, config: Record<string, unknown> | string): Promise<string> {
  const file = path.join(dir, 'config.yaml');
  await fs.writeFile(file, typeof config === 'string' ? config : stringify(config), { mode: 0o600 });
  return file;
}

const PORT_RACE = /EADDRINUSE|address already in use/i;

/**
 * Starts the collector. Missing pieces are filled in: grpc.listen and http.listen (free loopback ports,
 * fixed so restart() keeps them), grpc.tokenFile (written from opts.tokens), store.path (in the temp dir).
 */
export async function startCollector(
  owner: Owner,
  config: Record<string, unknown> = {},
  opts: CollectorOptions = {},
): Promise<CollectorProcess> {
  const dir = await owner.tempDir('collector');
  const grpc = isObject(config.grpc) ? { ...config.grpc } : {};
  const http = isObject(config.http) ? { ...config.http } : {};
  const store = isObject(config.store) ? { ...config.store } : {};
  let tokens: string[] = [];
  let tokenFile: string | undefined;
  if (grpc.tokenFile === undefined) {
    tokens = opts.tokens ?? [DEFAULT_TOKEN];
    tokenFile = path.join(dir, 'tokens');
    await fs.writeFile(tokenFile, tokens.join('\n') + '\n', { mode: 0o600 });
    grpc.tokenFile = tokenFile;
  } else {
    tokenFile = String(grpc.tokenFile);
  }
  if (store.path === undefined) store.path = path.join(dir, 'collector.db');
  const apiTokens: Partial<Record<ApiRole, string>> = {};
  if (http.tokenFile === undefined) {
    const lines = (['viewer', 'operator', 'admin'] as const).map((role) => {
      apiTokens[role] = `rfapi_test_${role}_${path.basename(dir).replace(/[^A-Za-z0-9]/g, '')}`;
      return `test-${role} ${role} sha256:${createHash('sha256').update(apiTokens[role]!).digest('hex')}`;
    });
    http.tokenFile = path.join(dir, 'api-tokens');
    await fs.writeFile(String(http.tokenFile), lines.join('\n') + '\n', { mode: 0o600 });
  }
  const apiTokenFile = String(http.tokenFile);
  // Ports the harness picks are fixed in the config, so restart() comes back on the same addresses.
  const pickGrpc = grpc.listen === undefined;
  const pickHttp = http.listen === undefined;
  const choosePorts = async () => {
    if (pickGrpc) grpc.listen = `${LOOPBACK}:${await freePort()}`;
    if (pickHttp) http.listen = `${LOOPBACK}:${await freePort()}`;
  };
  await choosePorts();
  for (let attempt = 1; ; attempt++) {
    const full = { ...config, grpc, http, store };
    const configPath = await writeConfig(dir, full);
    const collector = new CollectorProcess(owner, {
      kind: 'collector',
      script: PROGRAMS.collector,
      dir,
      configPath,
      args: opts.args,
      env: opts.env,
      nodeFlags: opts.nodeFlags,
      tokenFile,
      tokens,
      config: full,
      apiTokens,
      apiTokenFile,
    });
    if (opts.noWait) {
      // Best guess until the `listening` line arrives (exact unless the config asked for port 0).
      collector.grpcAddress = String(grpc.listen);
      collector.httpUrl = `http://${String(http.listen)}`;
      collector.spawn();
      return collector;
    }
    try {
      await collector.start(opts.timeoutMs);
      return collector;
    } catch (err) {
      await collector.kill();
      if ((pickGrpc || pickHttp) && attempt < 3 && PORT_RACE.test(collector.stdout() + (await collector.stderr()))) {
        await choosePorts();
        continue;
      }
      throw err;
    }
  }
}

/** Starts an agent. Fills collector.addresses from opts.collector and collector.tokenFile from opts.token. */
export async function startAgent(owner: Owner, config: Record<string, unknown> = {}, opts: AgentOptions = {}): Promise<AgentProcess> {
  const dir = await owner.tempDir('agent');
  const collector = isObject(config.collector) ? { ...config.collector } : {};
  if (collector.addresses === undefined && opts.collector) collector.addresses = [opts.collector.grpcAddress];
  let tokenFile: string | undefined;
  if (collector.tokenFile === undefined && collector.tokenEnv === undefined) {
    tokenFile = path.join(dir, 'agent.token');
    await fs.writeFile(tokenFile, (opts.token ?? DEFAULT_TOKEN) + '\n', { mode: 0o600 });
    collector.tokenFile = tokenFile;
  } else if (collector.tokenFile !== undefined) {
    tokenFile = String(collector.tokenFile);
  }
  // Discovery would find every other test's redis-server on this machine: off unless asked for.
  const full = { discovery: { enabled: false }, statusFile: path.join(dir, 'agent-status.json'), ...config, collector };
  const configPath = await writeConfig(dir, full);
  const agent = new AgentProcess(owner, {
    kind: 'agent',
    script: PROGRAMS.agent,
    dir,
    configPath,
    args: opts.args,
    env: opts.env,
    nodeFlags: opts.nodeFlags,
    tokenFile,
    config: full,
  });
  if (opts.noWait) agent.spawn();
  else await agent.start(opts.timeoutMs);
  return agent;
}

/**
 * Runs `node dist/<kind>/main.js --config <file>` to completion (config object → YAML, or raw YAML text)
 * and returns its exit code and output. Kills it and throws if it is still running after timeoutMs.
 */
export async function runToExit(
  owner: Owner,
  kind: FleetKind,
  config: Record<string, unknown> | string,
  opts: { env?: NodeJS.ProcessEnv; args?: string[]; timeoutMs?: number } = {},
): Promise<RunResult> {
  const dir = await owner.tempDir(`${kind}-run`);
  const configPath = await writeConfig(dir, config);
  const proc = new FleetProcess(owner, { kind, script: PROGRAMS[kind], dir, configPath, args: opts.args, env: opts.env });
  proc.spawn();
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const exit = await proc.process.waitExit(timeoutMs);
  if (!exit) {
    await proc.kill();
    throw new Error(`${kind} was expected to exit but still ran after ${timeoutMs} ms\n${proc.tail(30)}`);
  }
  return { code: exit.code, signal: exit.signal, stdout: proc.stdout(), stderr: await proc.stderr() };
}

/** Waits until `fn` holds, failing fast (with its output) if `proc` exits meanwhile. */
export async function waitWhileRunning<T>(proc: FleetProcess, fn: () => T | Promise<T>, opts: { timeoutMs?: number; what?: string } = {}) {
  return waitFor(
    async () => {
      if (!proc.running) throw new WaitAbort(`${proc.kind} exited while waiting for ${opts.what ?? 'a condition'}\n${proc.tail(30)}`);
      return fn();
    },
    { intervalMs: 100, ...opts },
  );
}
