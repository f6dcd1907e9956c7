// A rule as the evaluator uses it (validated, durations in ms, matchers compiled).
import type { CompiledMatchers } from '../labels.js';
import type { Labels, Matcher } from '../types.js';
import type { CompareOp, Expr } from './expr.js';

export type RuleKind = 'threshold' | 'fluctuation' | 'absence' | 'event';

/** Open-Falcon's window functions over the newest N points, plus the time-offset comparisons. */
export type FluctuationFunc = 'all' | 'max' | 'min' | 'avg' | 'sum' | 'diff' | 'pdiff' | 'offset_diff' | 'offset_pct';
export const FLUCTUATION_FUNCS: FluctuationFunc[] = ['all', 'max', 'min', 'avg', 'sum', 'diff', 'pdiff', 'offset_diff', 'offset_pct'];

export interface Rule {
  name: string;
  kind: RuleKind;
  source: string;
  /** Measurement the rule reads (the `event` measurement for event rules). */
  measurement: string;
  where: Matcher[];
  matchWhere: CompiledMatchers;
  labels: Labels;
  annotations: Labels;
  /** Pending → firing after this long (0 = on the first true evaluation). */
  forMs: number;
  /** Once firing, keep firing this long after the condition was last true. */
  keepFiringForMs: number;
  // threshold / fluctuation
  expr?: Expr;
  op?: CompareOp;
  value?: number | string;
  func?: FluctuationFunc;
  points?: number;
  offsetMs?: number;
  /** Baselines whose magnitude is below this give no decision (a zero baseline never fires). */
  minBaseline?: number;
  // event
  event?: string;
  resolvedBy?: string;
  resolveAfterMs?: number;
  attrs?: string[];
}

/** What GET /api/v1/rules shows of a rule. */
export function ruleView(r: Rule): Record<string, unknown> {
  const out: Record<string, unknown> = {
    name: r.name,
    kind: r.kind,
    source: r.source,
    measurement: r.measurement,
    labels: r.labels,
    annotations: r.annotations,
    severity: r.labels.severity,
    for: r.forMs / 1000,
  };
  if (r.where.length) out.where = r.where;
  if (r.expr) Object.assign(out, { expr: r.expr.text, op: r.op, value: r.value });
  if (r.func)
    Object.assign(out, {
      func: r.func,
      points: r.points,
      offset: r.offsetMs === undefined ? undefined : r.offsetMs / 1000,
      minBaseline: r.minBaseline,
    });
  if (r.event)
    Object.assign(out, {
      event: r.event,
      resolvedBy: r.resolvedBy,
      resolveAfter: r.resolveAfterMs === undefined ? undefined : r.resolveAfterMs / 1000,
      attrs: r.attrs,
    });
  if (r.keepFiringForMs) out.keepFiringFor = r.keepFiringForMs / 1000;
  return out;
}
