// The part of node-zookeeper-client 1.1.x the guard and the collector cluster use (the package ships no types).
declare module 'node-zookeeper-client' {
  import type { EventEmitter } from 'node:events';
  export interface Stat {
    version: number;
    ephemeralOwner?: Buffer;
  }
  export interface Event {
    type: number;
    name: string;
    path: string;
  }
  export type Watcher = (event: Event) => void;
  export interface Client extends EventEmitter {
    connect(): void;
    close(): void;
    getState(): { name: string; code: number };
    getSessionId(): Buffer;
    exists(path: string, cb: (err: Error | null, stat: Stat | null) => void): void;
    exists(path: string, watcher: Watcher, cb: (err: Error | null, stat: Stat | null) => void): void;
    getChildren(path: string, cb: (err: (Error & { getCode?(): number }) | null, children: string[]) => void): void;
    getChildren(path: string, watcher: Watcher, cb: (err: (Error & { getCode?(): number }) | null, children: string[]) => void): void;
    remove(path: string, version: number, cb: (err: (Error & { getCode?(): number }) | null) => void): void;
    getData(path: string, cb: (err: (Error & { getCode?(): number }) | null, data: Buffer | undefined, stat: Stat) => void): void;
    setData(path: string, data: Buffer, cb: (err: Error | null, stat: Stat) => void): void;
    create(path: string, data: Buffer, cb: (err: Error | null, path: string) => void): void;
    create(path: string, data: Buffer, mode: number, cb: (err: (Error & { getCode?(): number }) | null, path: string) => void): void;
    mkdirp(path: string, data: Buffer, cb: (err: Error | null, path: string) => void): void;
  }
  export interface Options {
    sessionTimeout?: number;
    spinDelay?: number;
    retries?: number;
  }
  export function createClient(connectionString: string, options?: Options): Client;
  export const Exception: { NO_NODE: number; NODE_EXISTS: number };
  export const CreateMode: { PERSISTENT: number; EPHEMERAL: number; PERSISTENT_SEQUENTIAL: number; EPHEMERAL_SEQUENTIAL: number };
  const zookeeper: { createClient: typeof createClient; Exception: typeof Exception; CreateMode: typeof CreateMode };
  export default zookeeper;
}
