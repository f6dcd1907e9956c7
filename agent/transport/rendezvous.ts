// Rendezvous (highest-random-weight) hashing: every agent ranks the collector addresses by
// hash(hostId, address), so hosts spread evenly over the collectors, a host always prefers
// the same one, and losing one collector moves only its hosts (each to its own next choice).
// https://en.wikipedia.org/wiki/Rendezvous_hashing
import { createHash } from 'node:crypto';

function weight(hostId: string, address: string): bigint {
  return createHash('sha256').update(hostId).update('\0').update(address).digest().readBigUInt64BE(0);
}

/** The addresses in this host's order of preference (stable for a given host id and address set). */
export function rendezvousOrder<T extends { address: string }>(hostId: string, addresses: readonly T[]): T[] {
  return addresses
    .map((a) => ({ a, w: weight(hostId, a.address) }))
    .sort((x, y) => (x.w === y.w ? x.a.address.localeCompare(y.a.address) : x.w > y.w ? -1 : 1))
    .map((x) => x.a);
}
