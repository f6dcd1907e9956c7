// The value a rule compares: one field of a measurement, or two operands joined by
// one arithmetic operator (`connected_clients / maxclients`). Field names are checked
// against proto/schema.ts, so a typo is refused at load instead of never firing.
import { MEASUREMENTS } from '../../../proto/index.js';

export type Operand = { field: string } | { number: number };

export interface Expr {
  text: string;
  left: Operand;
  op?: '+' | '-' | '*' | '/';
  right?: Operand;
  /** True when the value is a string field (only == and != apply). */
  isString: boolean;
}

const TOKEN =
  /^\s*([A-Za-z_][A-Za-z0-9_]*|-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*(?:([-+*/])\s*([A-Za-z_][A-Za-z0-9_]*|-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*)?$/i;

function operand(measurement: string, text: string): Operand {
  if (/^-?\d/.test(text)) return { number: Number(text) };
  const def = MEASUREMENTS[measurement]!;
  if (!def.fields[text]) {
    throw new Error(`unknown metric ${JSON.stringify(text)} in measurement ${measurement} (see docs/schema.md)`);
  }
  return { field: text };
}

/** Parses `field`, `field op field|number` for `measurement`; throws naming the problem. */
export function parseExpr(measurement: string, text: string): Expr {
  const m = TOKEN.exec(text);
  if (!m) throw new Error(`bad expression ${JSON.stringify(text)}: expected a field, or two operands joined by one of + - * /`);
  const left = operand(measurement, m[1]!);
  const right = m[3] !== undefined ? operand(measurement, m[3]) : undefined;
  const def = MEASUREMENTS[measurement]!;
  const stringField = (o: Operand | undefined) => o !== undefined && 'field' in o && def.fields[o.field]!.type === 'string';
  if (right && (stringField(left) || stringField(right)))
    throw new Error(`bad expression ${JSON.stringify(text)}: arithmetic on a string field`);
  if (!right && 'number' in left) throw new Error(`bad expression ${JSON.stringify(text)}: names no field`);
  return { text, left, op: m[2] as Expr['op'], right, isString: stringField(left) };
}

function operandValue(o: Operand, fields: Record<string, number | string>): number | string | undefined {
  return 'number' in o ? o.number : fields[o.field];
}

/** The expression's value on one point, or undefined when a field is missing or the result is not finite. */
export function evalExpr(e: Expr, fields: Record<string, number | string>): number | string | undefined {
  const l = operandValue(e.left, fields);
  if (l === undefined) return undefined;
  if (!e.op || !e.right) return l;
  const r = operandValue(e.right, fields);
  if (typeof l !== 'number' || typeof r !== 'number') return undefined;
  let v: number;
  switch (e.op) {
    case '+':
      v = l + r;
      break;
    case '-':
      v = l - r;
      break;
    case '*':
      v = l * r;
      break;
    case '/':
      if (r === 0) return undefined;
      v = l / r;
      break;
  }
  return Number.isFinite(v) ? v : undefined;
}

export type CompareOp = '>' | '>=' | '<' | '<=' | '==' | '!=';
export const COMPARE_OPS: CompareOp[] = ['>', '>=', '<', '<=', '==', '!='];

/** Open-Falcon's comparison: `==` within 1e-4 for numbers. */
export function compare(l: number | string, op: CompareOp, r: number | string): boolean {
  if (typeof l === 'string' || typeof r === 'string') {
    if (op === '==') return String(l) === String(r);
    if (op === '!=') return String(l) !== String(r);
    return false;
  }
  switch (op) {
    case '>':
      return l > r;
    case '>=':
      return l >= r;
    case '<':
      return l < r;
    case '<=':
      return l <= r;
    case '==':
      return Math.abs(l - r) < 1e-4;
    case '!=':
      return Math.abs(l - r) >= 1e-4;
  }
}
