// Naming a Redis connection (CLIENT SETNAME) once it is ready, instead of through ioredis's
// `connectionName`. With `enableReadyCheck: false`, ioredis 5.11 sends the name (and CLIENT SETINFO
// unless `disableClientInfo`) as handshake commands, and a connection closed during them (Sentinel's
// CLIENT KILL at that moment) is marked "ready" afterwards: ioredis then never reconnects it, and
// every command fails with "connection closed" until the process restarts
// (https://github.com/redis/ioredis/issues/2099; fixed only in ioredis 6, which talks RESP3 by
// default). So: no handshake commands (`disableClientInfo: true`, no `connectionName`), and the name
// sent as the first command of every ready connection.

/** The part of an ioredis client this needs. */
interface NamedClient {
  on(event: 'ready', listener: () => void): unknown;
  call(command: string, ...args: string[]): Promise<unknown>;
}

const noop = (): void => {};

/** Sends CLIENT SETNAME `name` on each (re)connection, best-effort (a refusal changes nothing). */
export function nameWhenReady<C extends NamedClient>(client: C, name: string): C {
  client.on('ready', () => {
    client.call('CLIENT', 'SETNAME', name).catch(noop);
  });
  return client;
}
