// Label helpers: fingerprints, Alertmanager matchers (parse, validate, match), templates.
import type { Labels, Matcher } from './types.js';

/**
 * Alertmanager's alert fingerprint: FNV-1a 64 over the label names and values sorted by name,
 * each followed by the separator byte 0xff, as 16 hex digits (prometheus/common
 * model.LabelSet.Fingerprint, https://github.com/prometheus/common/blob/main/model/signature.go).
 * The 64-bit state is kept as four 16-bit limbs (exact in double arithmetic); the FNV prime is
 * 2^40 + 0x1b3. Not memoized: a series keeps its own (collector/alerting/rules/evaluate.ts), and
 * the other callers pass labels made for the call.
 */
export function fingerprint(labels: Labels): string {
  const h = [0x2325, 0x8422, 0x9ce4, 0xcbf2];
  for (const k of Object.keys(labels).sort()) {
    addText(h, k);
    addByte(h, 0xff);
    addText(h, labels[k]!);
    addByte(h, 0xff);
  }
  return hex16(h);
}

const HEX = '0123456789abcdef';

/**
 * The four limbs as 16 hex digits, made as one flat string: a `+` of four pieces is a tree of
 * seven strings while it lives, and fingerprints live as long as their series (~11 per instance).
 */
function hex16(h: number[]): string {
  const c: number[] = new Array<number>(16);
  for (let limb = 0; limb < 4; limb++) {
    const n = h[3 - limb]!;
    for (let d = 0; d < 4; d++) c[limb * 4 + d] = HEX.charCodeAt((n >>> (12 - 4 * d)) & 15);
  }
  return String.fromCharCode(...c);
}

function addByte(h: number[], byte: number): void {
  const a0 = h[0]! ^ byte;
  const a1 = h[1]!;
  const t0 = a0 * 0x1b3;
  const t1 = a1 * 0x1b3 + (t0 >>> 16);
  const t2 = h[2]! * 0x1b3 + (t1 >>> 16) + (a0 << 8);
  const t3 = h[3]! * 0x1b3 + (t2 >>> 16) + (a1 << 8);
  h[0] = t0 & 0xffff;
  h[1] = t1 & 0xffff;
  h[2] = t2 & 0xffff;
  h[3] = t3 & 0xffff;
}

/** The UTF-8 bytes of `s` (ASCII without encoding it first). */
function addText(h: number[], s: string): void {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) {
      for (const b of Buffer.from(s.slice(i), 'utf8')) addByte(h, b);
      return;
    }
    addByte(h, c);
  }
}

const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A label name check; returns the problem or undefined. */
export function labelNameProblem(name: string): string | undefined {
  return LABEL_NAME.test(name) ? undefined : `label name ${JSON.stringify(name)} must match [A-Za-z_][A-Za-z0-9_]*`;
}

/** Compiles a matcher's regex (anchored, as Alertmanager does) or throws with the reason. */
export function compileMatcher(m: Matcher): (v: string | undefined) => boolean {
  const problem = labelNameProblem(m.name);
  if (problem) throw new Error(problem);
  let test: (v: string) => boolean;
  if (m.isRegex) {
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${m.value})$`);
    } catch (err) {
      throw new Error(`matcher ${m.name}: bad regex ${JSON.stringify(m.value)}: ${(err as Error).message}`);
    }
    test = (v) => re.test(v);
  } else {
    test = (v) => v === m.value;
  }
  // A missing label matches as the empty string (Alertmanager semantics).
  return m.isEqual ? (v) => test(v ?? '') : (v) => !test(v ?? '');
}

export type CompiledMatchers = (labels: Labels) => boolean;

export function compileMatchers(ms: Matcher[]): CompiledMatchers {
  const compiled = ms.map((m) => ({ name: m.name, test: compileMatcher(m) }));
  if (!compiled.length) return () => true;
  // A loop, not every(): no closure per call (a rule's `where` runs on every sample).
  return (labels) => {
    for (let i = 0; i < compiled.length; i++) if (!compiled[i]!.test(labels[compiled[i]!.name])) return false;
    return true;
  };
}

const MATCHER_TEXT = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|(.*?))\s*$/;

/** `name="value"`, `name!=value`, `name=~"re"`, `name!~re` → Matcher (throws naming the problem). */
export function parseMatcher(text: string): Matcher {
  const m = MATCHER_TEXT.exec(text);
  if (!m) throw new Error(`bad matcher ${JSON.stringify(text)} (expected name=value, name!=value, name=~regex or name!~regex)`);
  const op = m[2]!;
  const value = m[3] !== undefined ? (JSON.parse(`"${m[3]}"`) as string) : m[4]!;
  const matcher: Matcher = { name: m[1]!, value, isRegex: op === '=~' || op === '!~', isEqual: op === '=' || op === '=~' };
  compileMatcher(matcher);
  return matcher;
}

export function matcherText(m: Matcher): string {
  const op = m.isRegex ? (m.isEqual ? '=~' : '!~') : m.isEqual ? '=' : '!=';
  return `${m.name}${op}${JSON.stringify(m.value)}`;
}

/** `{{ $labels.name }}`, `{{ $value }}` substitution (the only template forms supported). */
export function renderTemplate(text: string, labels: Labels, value: number | string | null): string {
  return text.replace(/\{\{\s*\$(labels\.([A-Za-z_][A-Za-z0-9_]*)|value)\s*\}\}/g, (_, what: string, name?: string) => {
    if (what === 'value') return value === null ? '' : typeof value === 'number' ? formatNumber(value) : value;
    return labels[name!] ?? '';
  });
}

function formatNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  return Math.abs(n) >= 100 ? n.toFixed(1) : n.toPrecision(4).replace(/\.?0+$/, '');
}

/** Labels common to every set (same value everywhere). */
export function commonLabels(sets: Labels[]): Labels {
  if (sets.length === 0) return {};
  const out: Labels = { ...sets[0] };
  for (const s of sets.slice(1)) for (const k of Object.keys(out)) if (s[k] !== out[k]) delete out[k];
  return out;
}

export function sortedLabelString(labels: Labels): string {
  return `{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(',')}}`;
}
