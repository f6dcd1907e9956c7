// sd_notify(3) without a native dependency, for Type=notify units with WatchdogSec=.
//
// NOTIFY_SOCKET is an AF_UNIX datagram socket (a path, or "@name" in the abstract namespace) and
// Node cannot send unix datagrams. So one small helper process is spawned for the life of the
// program and each message is handed to it on stdin: `perl` (perl-base is Essential on Debian, so
// it is on every host that runs these units) with its core Socket module. The helper is long-lived
// and in the unit's cgroup, which matters: systemd attributes a datagram to a unit by the sender's
// cgroup, and a sender that exited before systemd read the datagram (a per-message
// `systemd-notify`) is dropped. Only when perl is missing does it fall back to
// `systemd-notify --pid=<our pid>` per message, racy on systemd < 254 (documented in
// deploy/README.md). The units set NotifyAccess=all so the helper's messages are accepted.
//
// READY=1 once the program has started; WATCHDOG=1 every WATCHDOG_USEC/2, but only while
// `healthy()` says the program's own loop is making progress, so a hung tick loop stops the pings
// and systemd restarts the unit after WatchdogSec. Without NOTIFY_SOCKET everything is a no-op.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';

const PERL_HELPER = [
  'use strict; use Socket;',
  'my $p = $ENV{NOTIFY_SOCKET}; $p =~ s/^@/\\0/;',
  'socket(my $s, PF_UNIX, SOCK_DGRAM, 0) or die "socket: $!\\n";',
  'my $a = pack_sockaddr_un($p);',
  'while (my $l = <STDIN>) { chomp $l; next if $l eq ""; defined(send($s, pack("H*", $l), 0, $a)) or print STDERR "sd_notify send: $!\\n"; }',
].join('\n');

export interface SdNotifyOptions {
  logger: Logger;
  /** Asked before every watchdog ping; false (or a rejection or a 10 s hang) skips the ping. */
  healthy?: () => boolean | Promise<boolean>;
  /** Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Text for STATUS= with READY=1. */
  status?: string;
}

export interface SdNotifier {
  /** NOTIFY_SOCKET was set. */
  readonly enabled: boolean;
  /** Ping period in ms (WATCHDOG_USEC / 2), 0 without a watchdog for this process. */
  readonly watchdogEveryMs: number;
  /** The transport in use: perl helper, systemd-notify per message, or none. */
  readonly via: 'perl' | 'systemd-notify' | 'none';
  /** Sends one raw notification ("KEY=value" lines). */
  notify(message: string): void;
  /** Sends STOPPING=1 and stops the watchdog and the helper. */
  stop(): void;
}

function hasProgram(name: string): boolean {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
  return r.status === 0;
}

/** Watchdog health from a counter the loop increments: healthy while it changed within `staleMs`. */
export function progressed(counter: () => number, staleMs: number, now: () => number = Date.now): () => boolean {
  let seen = Number.NaN;
  let changedAt = now();
  return () => {
    const v = counter();
    if (v !== seen) {
      seen = v;
      changedAt = now();
    }
    return now() - changedAt < staleMs;
  };
}

/** Starts notifying systemd: READY=1 now, WATCHDOG=1 while healthy. */
export function startSdNotify(opts: SdNotifyOptions): SdNotifier {
  const env = opts.env ?? process.env;
  const socketPath = env.NOTIFY_SOCKET;
  const log = opts.logger;
  if (!socketPath) {
    return { enabled: false, watchdogEveryMs: 0, via: 'none', notify() {}, stop() {} };
  }
  let helper: ChildProcess | undefined;
  let via: SdNotifier['via'] = 'none';
  const childEnv = { PATH: env.PATH ?? '/usr/bin:/bin', NOTIFY_SOCKET: socketPath };
  if (hasProgram('perl')) {
    helper = spawn('perl', ['-e', PERL_HELPER], { env: childEnv, stdio: ['pipe', 'ignore', 'pipe'] });
    via = 'perl';
    helper.stderr?.setEncoding('utf8').on('data', (d: string) => log.warn({ error: d.trim() }, 'sd_notify helper'));
    helper.on('error', (err) => log.warn({ error: err.message }, 'sd_notify helper failed'));
    helper.on('exit', (code, signal) => {
      if (helper) log.warn({ code, signal }, 'sd_notify helper exited');
      helper = undefined;
    });
    helper.stdin?.on('error', () => undefined);
    // The helper must never keep the program alive.
    helper.unref();
    (helper.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    (helper.stderr as unknown as { unref?: () => void } | null)?.unref?.();
  } else if (hasProgram('systemd-notify')) {
    via = 'systemd-notify';
  } else {
    log.warn(
      { notifySocket: socketPath },
      'NOTIFY_SOCKET is set but neither perl nor systemd-notify is installed: systemd will not see READY=1',
    );
  }

  const send = (message: string): void => {
    if (via === 'perl') {
      helper?.stdin?.write(`${Buffer.from(message, 'utf8').toString('hex')}\n`);
    } else if (via === 'systemd-notify') {
      const child = spawn('systemd-notify', [`--pid=${process.pid}`, ...message.split('\n').filter(Boolean)], {
        env: childEnv,
        stdio: 'ignore',
      });
      child.on('error', () => undefined);
      child.unref();
    }
  };

  const usec = Number(env.WATCHDOG_USEC);
  const forUs = !env.WATCHDOG_PID || Number(env.WATCHDOG_PID) === process.pid;
  const everyMs = Number.isFinite(usec) && usec > 0 && forUs ? Math.max(50, Math.floor(usec / 2000)) : 0;
  let timer: NodeJS.Timeout | undefined;
  let unhealthyLogged = false;
  const healthy = opts.healthy ?? (() => true);
  const ping = async (): Promise<void> => {
    let ok = false;
    try {
      ok = await Promise.race([Promise.resolve(healthy()), new Promise<boolean>((r) => setTimeout(() => r(false), 10_000).unref())]);
    } catch {
      ok = false;
    }
    if (ok) {
      if (unhealthyLogged) log.info('watchdog: healthy again, pinging systemd');
      unhealthyLogged = false;
      send('WATCHDOG=1');
    } else if (!unhealthyLogged) {
      unhealthyLogged = true;
      log.error(
        { watchdogEveryMs: everyMs },
        'watchdog: the loop made no progress; not pinging systemd (it restarts the unit after WatchdogSec)',
      );
    }
  };
  send(`READY=1\nMAINPID=${process.pid}${opts.status ? `\nSTATUS=${opts.status}` : ''}`);
  if (everyMs > 0) {
    const loop = (): void => {
      void ping().finally(() => {
        if (timer) timer = setTimeout(loop, everyMs).unref();
      });
    };
    timer = setTimeout(loop, everyMs).unref();
  }
  log.info({ via, watchdogEveryMs: everyMs }, 'sd_notify: READY=1 sent');
  return {
    enabled: true,
    watchdogEveryMs: everyMs,
    via,
    notify: send,
    stop() {
      clearTimeout(timer);
      timer = undefined;
      send('STOPPING=1');
      const h = helper;
      helper = undefined;
      h?.stdin?.end();
    },
  };
}
