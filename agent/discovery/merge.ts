// Configured instances always win over discovered ones.
import os from 'node:os';
import { isAnyAddress, isLoopback } from './address.js';
import type { DiscoveredInstance } from './types.js';

export interface Merged<C> {
  /** Every configured instance, unchanged and in order. */
  configured: C[];
  /** Discovered instances no configured one names. */
  discovered: DiscoveredInstance[];
  /** Discovered instances a configured one names, with the configured address that covers it. */
  shadowed: Array<{ instance: DiscoveredInstance; by: string }>;
}

function splitAddress(address: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(address.trim());
  return m ? { host: (m[1] ?? m[2]!).toLowerCase(), port: Number(m[3]) } : undefined;
}

/**
 * A configured address names a discovered instance when its port is one of the instance's listening
 * ports and its host reaches it locally: loopback, a wildcard, an IP the instance is bound to, or one
 * of this host's interface addresses when the instance is bound to a wildcard.
 */
export function namesInstance(address: string, inst: DiscoveredInstance): boolean {
  const hp = splitAddress(address);
  if (!hp || !(inst.ports.includes(hp.port) || inst.port === hp.port)) return false;
  // A container's loopback (another network namespace) is not ours: only its exact address names it.
  if (!inst.otherNetns && (isLoopback(hp.host) || isAnyAddress(hp.host))) return true;
  if (hp.host === inst.host.toLowerCase() && !inst.otherNetns) return true;
  const ours = !inst.otherNetns && localAddresses();
  return inst.listening.some(
    (s) => s.port === hp.port && (s.ip.toLowerCase() === hp.host || (ours && isAnyAddress(s.ip) && ours.has(hp.host))),
  );
}

/** This host's interface addresses: a wildcard bind is reachable on each of them. */
function localAddresses(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) out.add(a.address.toLowerCase());
  return out;
}

export function mergeWithConfigured<C extends { address: string }>(
  configured: readonly C[],
  discovered: { instances: readonly DiscoveredInstance[] } | readonly DiscoveredInstance[],
): Merged<C> {
  const list = 'instances' in discovered ? discovered.instances : discovered;
  const out: Merged<C> = { configured: [...configured], discovered: [], shadowed: [] };
  for (const inst of list) {
    const by = configured.find((c) => namesInstance(c.address, inst));
    if (by) out.shadowed.push({ instance: inst, by: by.address });
    else out.discovered.push(inst);
  }
  return out;
}
