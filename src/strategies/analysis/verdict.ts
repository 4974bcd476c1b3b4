/*
 * The canary's verdict, three-valued as Argo Rollouts has it: `fail` aborts the rollout, `pass`
 * lets it go on, `inconclusive` (too few requests to say, or no figure at all) holds it for a
 * person to decide. Silence never passes.
 */

export type Verdict = 'pass' | 'fail' | 'inconclusive';

export interface Thresholds {
  /** The highest share of 5xx answers that passes, 0..1 (0.05: 5%). */
  maxErrorRate: number;
  /** Fewer requests than this say nothing: inconclusive. */
  minRequests: number;
}

/** What was measured of the canary over a window. `errorRate` null: no figure (no data, NaN). */
export interface Measurement {
  requests: number;
  errors: number | null;
  errorRate: number | null;
  /** Where the figures come from, for the reason ("nginx access log", "prometheus"). */
  source: string;
}

export interface Judgement extends Measurement {
  verdict: Verdict;
  /** One sentence with the figures, for the deployment's progress and its error message. */
  reason: string;
}

export function checkThresholds(thresholds: Thresholds): void {
  const { maxErrorRate, minRequests } = thresholds;
  if (!Number.isFinite(maxErrorRate) || maxErrorRate < 0 || maxErrorRate > 1) {
    throw new RangeError(`max_error_rate must be a share from 0 to 1 (0.05 for 5%); got ${maxErrorRate}`);
  }
  if (!Number.isInteger(minRequests) || minRequests < 1) throw new RangeError(`min_requests must be a whole number ≥ 1; got ${minRequests}`);
}

export function judge(measured: Measurement, thresholds: Thresholds): Judgement {
  checkThresholds(thresholds);
  const { requests, errorRate, source } = measured;
  const limit = `max ${percent(thresholds.maxErrorRate)}`;
  const figures = errorRate === null ? `${requests} requests, no error rate` : `${requests} requests, ${percent(errorRate)} 5xx${measured.errors !== null ? ` (${measured.errors})` : ''}`;
  if (requests < thresholds.minRequests) {
    return { ...measured, verdict: 'inconclusive', reason: `canary analysis inconclusive (${source}): ${figures}, fewer than the ${thresholds.minRequests} needed` };
  }
  if (errorRate === null || Number.isNaN(errorRate)) {
    return { ...measured, errorRate: null, verdict: 'inconclusive', reason: `canary analysis inconclusive (${source}): ${figures}` };
  }
  if (errorRate > thresholds.maxErrorRate) {
    return { ...measured, verdict: 'fail', reason: `canary analysis failed (${source}): ${figures}, over the ${limit}` };
  }
  return { ...measured, verdict: 'pass', reason: `canary analysis passed (${source}): ${figures}, within the ${limit}` };
}

function percent(share: number): string {
  return `${Math.round(share * 10_000) / 100}%`;
}
