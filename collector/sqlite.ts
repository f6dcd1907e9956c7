// better-sqlite3 ships no type declarations (and @types/better-sqlite3 is not a
// dependency): this is the small typed slice of its API the collector uses.
import { createRequire } from 'node:module';

export interface RunResult {
  changes: number;
  lastInsertRowid: number | bigint;
}

export interface Statement<R = unknown> {
  run(...params: unknown[]): RunResult;
  get(...params: unknown[]): R | undefined;
  all(...params: unknown[]): R[];
  /** Rows one at a time (no other statement may run on the connection until it is done or left). */
  iterate(...params: unknown[]): IterableIterator<R>;
  /** Rows as arrays of column values instead of objects. */
  raw(toggle?: boolean): Statement<unknown[]>;
}

export interface Database {
  readonly open: boolean;
  readonly inTransaction: boolean;
  prepare<R = unknown>(sql: string): Statement<R>;
  exec(sql: string): Database;
  pragma(sql: string, options?: { simple?: boolean }): unknown;
  transaction<A extends unknown[], T>(fn: (...args: A) => T): (...args: A) => T;
  close(): Database;
}

type DatabaseCtor = new (file: string, options?: { readonly?: boolean; fileMustExist?: boolean; timeout?: number }) => Database;

const require = createRequire(import.meta.url);
const BetterSqlite3 = require('better-sqlite3') as DatabaseCtor;

export function openDatabase(file: string): Database {
  return new BetterSqlite3(file, { timeout: 5000 });
}
