// What a sink takes: a report's points, built only in the form each consumer reads. The InfluxDB /
// VictoriaMetrics sink reads line protocol (written straight from the report: report-lines.ts),
// the embedded store reads Points, the alert rules read only the measurements and fields they
// name (FieldNeeds). Each form is built on first use and kept, so a retried write (backpressure)
// encodes nothing twice. A plain Point[] (collector events, tests) is a batch too.
import { encodeLines, type EncodedLines } from './line-protocol.js';
import { reportPoints, type FieldNeeds, type Point, type PointSource } from './points.js';
import { reportLines } from './report-lines.js';

export { releaseLines } from './report-lines.js';
import type { Report } from '../proto/index.js';

export interface SinkBatch {
  /** Every point. */
  points(): Point[];
  /**
   * Every point as line protocol. A sink that took the lines gives them back with releaseLines()
   * once it has sent or copied them; the batch is not read again after that.
   */
  lines(): EncodedLines;
  /** The points the alert rules read: at least the measurements and fields `need` names. */
  rulePoints(need: FieldNeeds): Point[];
}

export type Batch = Point[] | SinkBatch;

export const batchPoints = (b: Batch): Point[] => (Array.isArray(b) ? b : b.points());
export const batchLines = (b: Batch): EncodedLines => (Array.isArray(b) ? encodeLines(b) : b.lines());
export const batchRulePoints = (b: Batch, need: FieldNeeds): Point[] => (Array.isArray(b) ? b : b.rulePoints(need));

/** One agent report from the host `src` (its hello) as a batch; the report is not changed afterwards. */
export function reportBatch(report: Report, src: PointSource): SinkBatch {
  let points: Point[] | undefined;
  let lines: EncodedLines | undefined;
  return {
    points: () => (points ??= reportPoints(report, src)),
    lines: () => (lines ??= points ? encodeLines(points) : reportLines(report, src)),
    rulePoints: (need) => points ?? reportPoints(report, src, [], { need }),
  };
}
