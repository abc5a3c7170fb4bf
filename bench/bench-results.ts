/**
 * The shape of bench/results/*.json: everything measured in one run, with each of tollgate's
 * figures beside the ceiling's from the same run. Latencies in ms, memory in MB (10^6 bytes).
 */
import type { LatencySummary } from './latency-stats.js';
import type { FramesDriver, Measurement } from './measure.js';

export interface BenchResults {
  readonly meta: RunMeta;
  readonly scenarios: ScenarioResult[];
  readonly memory: MemoryResult;
  readonly startup: StartupResult;
  readonly targets: TargetVerdict[];
  /** Runs whose numbers cannot be trusted: errors, wrong decisions, a busy server core. */
  readonly problems: string[];
}

export interface RunMeta {
  readonly date: string;
  readonly mode: 'full' | 'quick';
  readonly host: { cpus: number; cpuModel: string; memoryMB: number; kernel: string };
  readonly node: string;
  readonly nodeFlags: string[];
  readonly h2load: string | undefined;
  /** h2drive's version line, undefined when it could not be built (the node driver stood in). */
  readonly h2drive: string | undefined;
  readonly pinning: string;
  readonly git: { commit: string; dirty: boolean };
  /**
   * The build measured (copied from dist/ when the run started): a sha256 over its JavaScript and
   * its newest file's time. Two runs measured the same code only when the hashes match.
   */
  readonly dist: { sha256: string; builtAt: string };
  readonly settings: BenchSettings;
  /** Seconds spent waiting for other processes to calm down, and pairs measured again. */
  readonly disturbance: { quietWaitSeconds: number; retries: number };
  readonly durationSeconds: number;
}

export interface BenchSettings {
  /** Load on each freshly started server before anything is measured (JIT warm-up). */
  readonly serverWarmupSeconds: number;
  /** Load before each measurement window, not measured. */
  readonly warmupSeconds: number;
  readonly saturationSeconds: number;
  readonly loadWarmupSeconds: number;
  readonly loadSeconds: number;
  /** Fixed offered loads, as fractions of the ceiling's saturation throughput. */
  readonly loadFractions: number[];
  /**
   * Ceiling/tollgate rounds per measurement; each server's median round is kept (by throughput
   * at saturation, by p99 at fixed loads).
   */
  readonly rounds: number;
  readonly memoryChecks: number;
  readonly memoryDistinctTokens: number;
}

/** tollgate's figure over the ceiling's: throughput wants ≥ 1 - ε, latency wants ≈ 1. */
export interface Ratios {
  readonly throughput: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
}

export interface Comparison {
  readonly ceiling: Measurement;
  readonly tollgate: Measurement;
  readonly ratio: Ratios;
}

export interface ScenarioResult {
  readonly name: string;
  readonly description: string;
  readonly transport: 'tcp' | 'unix';
  readonly saturation: Comparison;
  /**
   * Where the node driver drove saturation: the ceiling measured by h2load as well (same-size
   * request), because the node driver tops out below what the ceiling can answer.
   */
  readonly ceilingViaH2load?: Measurement;
  /** Per fixed load, each server's round with the median p99 among `rounds` rounds. */
  /** Cold scenarios: the signature-only server against the ceiling (see ceiling-server.ts). */
  readonly signatureOnly?: SignatureOnlyResult;
  readonly loads: (Comparison & { fraction: number; offeredRps: number; rounds: number })[];
  readonly peakRssMB: { ceiling: number; tollgate: number };
  /** tollgate's stdout during the scenario: one info line per decision is part of the cost. */
  readonly tollgateLog: { lines: number; bytes: number };
}

/**
 * A server that does nothing but verify one signature per Check, at saturation: what no server
 * checking every new token can beat on this machine, as a fraction of the ceiling.
 */
export interface SignatureOnlyResult {
  /** The ceiling's median round of these pairs (measured again, next to the server's). */
  readonly ceiling: Measurement;
  readonly server: Measurement;
  readonly throughputRatio: number;
}

export interface MemoryResult {
  readonly checks: number;
  readonly distinctTokens: number;
  readonly algorithm: string;
  readonly driver: FramesDriver;
  readonly ceiling: MemoryFigures;
  readonly tollgate: MemoryFigures;
}

export interface MemoryFigures {
  readonly idleRssMB: number;
  /** Right after the last answer of the run. */
  readonly rssAfterMB: number;
  readonly peakRssMB: number;
  readonly throughputRps: number;
  readonly latency: LatencySummary;
  readonly errors: number;
}

export interface StartupResult {
  /** Every start of tollgate in the run (local JWKS file), spawn to SERVING, in ms. */
  readonly tollgateMs: number[];
  readonly ceilingMs: number[];
}

export interface TargetVerdict {
  readonly name: string;
  readonly measured: number;
  readonly limit: number;
  readonly unit: string;
  readonly comparison: '>=' | '<=';
  /** pass; miss; or unsure: met, but on measurements that cannot be trusted (see doubts). */
  readonly outcome: 'pass' | 'miss' | 'unsure';
  readonly pass: boolean;
  readonly detail: string;
  readonly doubts: string[];
}

export function ratiosOf(ceiling: Measurement, tollgate: Measurement): Ratios {
  return {
    throughput: tollgate.throughputRps / ceiling.throughputRps,
    p50: tollgate.latency.p50Ms / ceiling.latency.p50Ms,
    p99: tollgate.latency.p99Ms / ceiling.latency.p99Ms,
    p999: tollgate.latency.p999Ms / ceiling.latency.p999Ms,
  };
}
