// Building the typed `fields` maps of ProxySample / ProxyItem. Counters and gauges are
// always ints, ratios and rates always floats, flags ints 0/1, so a stored field never
// changes type between samples.
import { floatValue, intValue, strValue, valueOf, type ProxyItem, type ProxySample, type Value } from '../proto/index.js';

export type Fields = Record<string, Value>;

export const int = (n: number): Value => intValue(n);
export const float = (n: number): Value => floatValue(n);
export const str = (s: string): Value => strValue(s);
export const flag = (b: boolean): Value => intValue(b ? 1 : 0);

/** Numeric value of a field (int or float), or undefined. */
export function numField(fields: Fields, key: string): number | undefined {
  const v = valueOf(fields[key]);
  return typeof v === 'number' ? v : undefined;
}

export function strField(fields: Fields, key: string): string | undefined {
  const v = valueOf(fields[key]);
  return typeof v === 'string' ? v : undefined;
}

/** A ProxySample for a proxy that could not be sampled. */
export function downSample(kind: 'codis' | 'twemproxy', address: string, name: string, error: string): ProxySample {
  return { kind, address, name, up: false, error, fields: {}, items: [] };
}

/** A copy of `sample` (items copied too) so callers can add fields without touching the original. */
export function cloneSample(sample: ProxySample): ProxySample {
  return {
    ...sample,
    fields: { ...sample.fields },
    items: sample.items.map((it): ProxyItem => ({ kind: it.kind, tags: { ...it.tags }, fields: { ...it.fields } })),
  };
}

/** Key of an item inside a sample: kind plus sorted tags. */
export function itemKey(item: ProxyItem): string {
  return `${item.kind}|${Object.keys(item.tags)
    .sort()
    .map((k) => `${k}=${item.tags[k]}`)
    .join(',')}`;
}

export { errorText } from '../common/index.js';
