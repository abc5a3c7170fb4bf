/**
 * The targets, judged against one run's results. Every ratio compares tollgate with the
 * ceiling measured in the same run, so a slower or busier machine moves both. A target is never
 * passed on numbers that cannot be trusted: when a measurement behind it was disturbed by other
 * processes, or the ceiling was held back by its driver (which flatters tollgate), a pass
 * becomes "unsure"; a miss stays a miss.
 */
import type {
  MemoryResult,
  ScenarioResult,
  StartupResult,
  TargetVerdict,
} from './bench-results.js';
import type { Measurement } from './measure.js';
import { disturbanceOf, NOISY_OTHER_CPU, SATURATED_CPU } from './report.js';

export const TARGETS = {
  /** Warm saturation throughput, as a fraction of the ceiling's. */
  warmThroughputRatio: 0.85,
  /** Warm p99 at half the ceiling's saturation rate, as a multiple of the ceiling's p99. */
  warmP99RatioAtHalfLoad: 1.5,
  /** Cold RS256 saturation throughput, as a fraction of the ceiling's. */
  coldRs256ThroughputRatio: 0.6,
  /** RSS after the memory run above the ceiling's after the same run, in MB. */
  rssAboveCeilingMB: 40,
  /** Spawn to SERVING with keys from a local file, in ms (every start of the run). */
  startToServingMs: 500,
} as const;

/**
 * The most a cold Check can reach against the ceiling, from two measured ratios. A cold Check
 * does all a warm one does (request, rules, credential, cache lookup, response, log line) and
 * also checks a signature, so per Check it costs at least the warm Check's time plus what one
 * signature adds to the ceiling's: 1/ceiling's rate * (1/warm + 1/signatureOnly - 1). Decoding
 * the token and building a new Decision come on top, so a cold Check cannot reach the bound.
 */
export function coldBound(warmRatio: number, signatureOnlyRatio: number): number {
  return 1 / (1 / warmRatio + 1 / signatureOnlyRatio - 1);
}

/** A throughput ratio above this means the ceiling was under-measured, whatever the flags say. */
const IMPLAUSIBLE_RATIO = 1.1;

export function judgeTargets(
  scenarios: readonly ScenarioResult[],
  memory: MemoryResult,
  startup: StartupResult,
): TargetVerdict[] {
  const warm = find(scenarios, 'warm');
  const cold = find(scenarios, 'cold-rs256');
  const half = warm.loads.find((load) => load.fraction === 0.5);
  // The stricter ceiling: the scenario driver's own, or h2load's where it measured one too.
  const coldCeiling =
    cold.ceilingViaH2load !== undefined &&
    cold.ceilingViaH2load.throughputRps > cold.saturation.ceiling.throughputRps
      ? cold.ceilingViaH2load
      : cold.saturation.ceiling;
  const coldRatio = cold.saturation.tollgate.throughputRps / coldCeiling.throughputRps;
  const rssAbove = memory.tollgate.rssAfterMB - memory.ceiling.rssAfterMB;
  const slowestStartMs = Math.max(...startup.tollgateMs);

  return [
    verdict({
      name: 'warm throughput / ceiling',
      measured: warm.saturation.ratio.throughput,
      comparison: '>=',
      limit: TARGETS.warmThroughputRatio,
      unit: 'x',
      detail: `${rps(warm.saturation.tollgate.throughputRps)} vs ${rps(warm.saturation.ceiling.throughputRps)}`,
      doubts: [
        ...doubtsAbout('ceiling', warm.saturation.ceiling),
        ...doubtsAbout('tollgate', warm.saturation.tollgate),
        ...implausible(warm.saturation.ratio.throughput),
      ],
    }),
    half === undefined
      ? verdict({
          name: 'warm p99 at 50% load / ceiling p99',
          measured: Number.NaN,
          comparison: '<=',
          limit: TARGETS.warmP99RatioAtHalfLoad,
          unit: 'x',
          detail: 'no 50% load was measured',
          doubts: [],
        })
      : verdict({
          name: 'warm p99 at 50% load / ceiling p99',
          measured: half.ratio.p99,
          comparison: '<=',
          limit: TARGETS.warmP99RatioAtHalfLoad,
          unit: 'x',
          detail: `${ms(half.tollgate.latency.p99Ms)} vs ${ms(half.ceiling.latency.p99Ms)} at ${rps(half.offeredRps)}`,
          doubts: [
            ...doubtsAbout('ceiling', half.ceiling),
            ...doubtsAbout('tollgate', half.tollgate),
            // Both sides must have answered the offered rate, or the p99s are not comparable.
            ...(half.ceiling.throughputRps < 0.95 * half.offeredRps ? ['ceiling overloaded'] : []),
            ...(half.tollgate.throughputRps < 0.95 * half.offeredRps
              ? ['tollgate overloaded']
              : []),
          ],
        }),
    verdict({
      name: 'cold RS256 throughput / ceiling',
      measured: coldRatio,
      comparison: '>=',
      limit: TARGETS.coldRs256ThroughputRatio,
      unit: 'x',
      detail:
        `${rps(cold.saturation.tollgate.throughputRps)} vs ${rps(coldCeiling.throughputRps)} (ceiling via ${coldCeiling.driver})` +
        (cold.signatureOnly === undefined
          ? ''
          : `; signature-only server ${cold.signatureOnly.throughputRatio.toFixed(2)} x, ` +
            `bound ${coldBound(warm.saturation.ratio.throughput, cold.signatureOnly.throughputRatio).toFixed(2)} x`),
      doubts: [
        ...doubtsAbout('ceiling', coldCeiling),
        ...doubtsAbout('tollgate', cold.saturation.tollgate),
        ...implausible(coldRatio),
      ],
    }),
    verdict({
      name: `RSS above ceiling after ${memory.checks.toLocaleString('en')} Checks`,
      measured: rssAbove,
      comparison: '<=',
      limit: TARGETS.rssAboveCeilingMB,
      unit: 'MB',
      detail: `${memory.tollgate.rssAfterMB.toFixed(1)} MB vs ${memory.ceiling.rssAfterMB.toFixed(1)} MB, ${memory.distinctTokens.toLocaleString('en')} distinct tokens`,
      doubts:
        memory.tollgate.errors + memory.ceiling.errors > 0 ? ['errors in the memory run'] : [],
    }),
    verdict({
      name: 'start to SERVING (slowest start)',
      measured: slowestStartMs,
      comparison: '<=',
      limit: TARGETS.startToServingMs,
      unit: 'ms',
      detail: `${startup.tollgateMs.length} starts: ${startup.tollgateMs.map((value) => value.toFixed(0)).join(', ')} ms`,
      doubts: [],
    }),
  ];
}

function find(scenarios: readonly ScenarioResult[], name: string): ScenarioResult {
  const scenario = scenarios.find((candidate) => candidate.name === name);
  if (scenario === undefined) throw new Error(`scenario ${name} was not run`);
  return scenario;
}

/** Why a measurement cannot back a pass: disturbed, or (at saturation) not saturated. */
function doubtsAbout(server: string, measurement: Measurement): string[] {
  const doubts: string[] = [];
  if (disturbanceOf(measurement) > NOISY_OTHER_CPU) doubts.push(`${server} disturbed`);
  if (measurement.errors > 0) doubts.push(`${server} had errors`);
  if (
    server === 'ceiling' &&
    measurement.offeredRps === undefined &&
    measurement.serverCpuCores < SATURATED_CPU
  ) {
    doubts.push('ceiling driver-bound');
  }
  return doubts;
}

function implausible(throughputRatio: number): string[] {
  return throughputRatio > IMPLAUSIBLE_RATIO ? ['tollgate faster than the do-nothing server'] : [];
}

interface Draft extends Omit<TargetVerdict, 'pass' | 'outcome'> {
  readonly doubts: string[];
}

function verdict(draft: Draft): TargetVerdict {
  const { measured, comparison, limit } = draft;
  const met =
    Number.isFinite(measured) && (comparison === '>=' ? measured >= limit : measured <= limit);
  const outcome = !met ? 'miss' : draft.doubts.length > 0 ? 'unsure' : 'pass';
  return { ...draft, pass: outcome === 'pass', outcome };
}

function rps(value: number): string {
  return `${Math.round(value).toLocaleString('en')}/s`;
}

function ms(value: number): string {
  return `${value.toFixed(2)} ms`;
}
