// The part of node-zookeeper-client 1.1.x the guard uses (the package ships no types).
declare module 'node-zookeeper-client' {
  import type { EventEmitter } from 'node:events';
  export interface Stat { version: number }
  export interface Client extends EventEmitter {
    connect(): void;
    close(): void;
    getState(): { name: string; code: number };
    getSessionId(): Buffer;
    exists(path: string, cb: (err: Error | null, stat: Stat | null) => void): void;
    getData(path: string, cb: (err: (Error & { getCode?(): number }) | null, data: Buffer | undefined, stat: Stat) => void): void;
    setData(path: string, data: Buffer, cb: (err: Error | null, stat: Stat) => void): void;
    create(path: string, data: Buffer, cb: (err: Error | null, path: string) => void): void;
    mkdirp(path: string, data: Buffer, cb: (err: Error | null, path: string) => void): void;
  }
  export interface Options { sessionTimeout?: number; spinDelay?: number; retries?: number }
  export function createClient(connectionString: string, options?: Options): Client;
  export const Exception: { NO_NODE: number };
  const zookeeper: { createClient: typeof createClient; Exception: { NO_NODE: number } };
  export default zookeeper;
}
