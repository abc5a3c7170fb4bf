/**
 * One scenario: tollgate and the ceiling started side by side, the scenario's request checked to
 * reach the intended rule, then each load applied to both servers in turn.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Context,
  PAUSE_MS,
  pause,
  progress,
  settings,
  startCeiling,
  startSignatureOnly,
  startTollgate,
  TMP_DIR,
} from './bench-context.js';
import {
  type Comparison,
  ratiosOf,
  type ScenarioResult,
  type SignatureOnlyResult,
} from './bench-results.js';
import type { ProbeAnswer } from './decision-probe.js';
import { waitForQuiet } from './machine-load.js';
import { type Load, type Measurement, measure } from './measure.js';
import { disturbanceOf, flags, NOISY_OTHER_CPU } from './report.js';
import type { Scenario } from './scenarios.js';
import type { RunningServer } from './server-process.js';

/** Attempts at one ceiling/tollgate pair when other processes disturb it. */
const MAX_ATTEMPTS = 3;
/** The machine counts as quiet below this many busy cores while the servers idle. */
const QUIET_BUSY_CORES = 0.25;

export async function runScenario(context: Context, scenario: Scenario): Promise<ScenarioResult> {
  const tollgate = await startTollgate(context, scenario.name, scenario.transport);
  const ceiling = await startCeiling(context, scenario.name, scenario.transport);
  try {
    const pair: ServerPair = {
      tollgate,
      ceiling,
      tollgateProbe: await context.probe(tollgate.spec.target, scenario.firstFrame),
      ceilingProbe: await context.probe(ceiling.spec.target, scenario.firstFrame),
    };
    checkProbe(scenario, pair.tollgateProbe);
    await warmUpServers(context, scenario, pair);

    const saturation = await compareRounds(
      context,
      scenario,
      pair,
      { kind: 'saturation', driver: scenario.driver },
      settings.warmupSeconds,
      settings.saturationSeconds,
    );
    const ceilingViaH2load = await measureCeilingWithH2load(context, scenario, pair);
    const signatureOnly =
      scenario.signatureFile === undefined
        ? undefined
        : await measureSignatureOnly(context, scenario, pair, scenario.signatureFile);
    const loads: ScenarioResult['loads'] = [];
    for (const fraction of settings.loadFractions) {
      const offeredRps = saturation.ceiling.throughputRps * fraction;
      const comparison = await compareRounds(
        context,
        scenario,
        pair,
        { kind: 'rate', driver: scenario.driver, rateRps: offeredRps },
        settings.loadWarmupSeconds,
        settings.loadSeconds,
      );
      loads.push({ ...comparison, fraction, offeredRps, rounds: settings.rounds });
    }

    return {
      name: scenario.name,
      description: scenario.description,
      transport: scenario.transport,
      saturation,
      ...(ceilingViaH2load === undefined ? {} : { ceilingViaH2load }),
      ...(signatureOnly === undefined ? {} : { signatureOnly }),
      loads,
      peakRssMB: { ceiling: ceiling.memory().peakRssMB, tollgate: tollgate.memory().peakRssMB },
      tollgateLog: tollgate.stdoutStats(),
    };
  } finally {
    await tollgate.stop();
    await ceiling.stop();
    rmSync(tollgate.spec.stdoutFile, { force: true });
    rmSync(ceiling.spec.stdoutFile, { force: true });
  }
}

/**
 * The load in `settings.rounds` rounds of the ceiling then `contender` (tollgate unless said),
 * and each server's median round: by throughput at saturation, by p99 at a fixed rate (the upper
 * one of an even count). Each side is chosen on its own: a window disturbed on one server does
 * not drag the other's with it. The contender's side is reported as `tollgate`.
 */
async function compareRounds(
  context: Context,
  scenario: Scenario,
  pair: ServerPair,
  load: Load,
  warmupSeconds: number,
  durationSeconds: number,
  contender: RunningServer = pair.tollgate,
): Promise<Comparison> {
  const rounds: Comparison[] = [];
  for (let round = 0; round < settings.rounds; round++) {
    rounds.push(
      await comparePair(context, scenario, pair, load, warmupSeconds, durationSeconds, contender),
    );
  }
  const key = (measured: Measurement) =>
    load.kind === 'saturation' ? measured.throughputRps : measured.latency.p99Ms;
  const median = (side: 'ceiling' | 'tollgate'): Measurement => {
    const sorted = rounds.map((round) => round[side]).sort((a, b) => key(a) - key(b));
    return sorted[sorted.length >> 1] as Measurement;
  };
  const ceiling = median('ceiling');
  const tollgate = median('tollgate');
  return { ceiling, tollgate, ratio: ratiosOf(ceiling, tollgate) };
}

interface ServerPair {
  readonly tollgate: RunningServer;
  readonly ceiling: RunningServer;
  readonly tollgateProbe: ProbeAnswer;
  readonly ceilingProbe: ProbeAnswer;
  /** The signature-only server, while it is measured; it answers as the ceiling does. */
  readonly signatureOnly?: RunningServer;
}

/**
 * The signature-only server (see ceiling-server.ts) at saturation, in rounds of the ceiling then
 * it, as for tollgate.
 */
async function measureSignatureOnly(
  context: Context,
  scenario: Scenario,
  pair: ServerPair,
  signatureFile: string,
): Promise<SignatureOnlyResult> {
  const server = await startSignatureOnly(context, scenario.name, signatureFile);
  try {
    const withServer: ServerPair = { ...pair, signatureOnly: server };
    const load: Load = { kind: 'saturation', driver: scenario.driver };
    await measureOn(context, scenario, withServer, server, load, 0, settings.serverWarmupSeconds);
    const {
      ceiling,
      tollgate: signature,
      ratio,
    } = await compareRounds(
      context,
      scenario,
      withServer,
      load,
      settings.warmupSeconds,
      settings.saturationSeconds,
      server,
    );
    return { ceiling, server: signature, throughputRatio: ratio.throughput };
  } finally {
    await server.stop();
    rmSync(server.spec.stdoutFile, { force: true });
  }
}

/** One load on one server of the pair, with the scenario's requests and expected decision. */
async function measureOn(
  context: Context,
  scenario: Scenario,
  pair: ServerPair,
  server: RunningServer,
  load: Load,
  warmupSeconds: number,
  durationSeconds: number,
): Promise<Measurement> {
  await pause(PAUSE_MS);
  // The ceiling and the signature-only server answer alike: allow, the same bytes.
  const probe = server === pair.tollgate ? pair.tollgateProbe : pair.ceilingProbe;
  return measure({
    server,
    coResidents: [pair.tollgate, pair.ceiling, ...(pair.signatureOnly ? [pair.signatureOnly] : [])],
    placement: context.placement,
    programs: { nodeScript: context.scripts.driver, h2drive: context.inputs.h2drive },
    framesFile: scenario.framesFile,
    singleFrameFile: scenario.singleFrameFile,
    responseFrameBytes: probe.responseFrameBytes,
    // The ceiling allows everything; tollgate must decide as the scenario says.
    expect: server === pair.tollgate ? scenario.expect : { allow: true },
    load,
    warmupSeconds,
    durationSeconds,
    h2loadLogFile: join(TMP_DIR, 'logs', 'h2load.log'),
  });
}

/**
 * A Node server just started answers at a fraction of its speed until V8 has compiled its hot
 * paths (on these machines, the first 1.5 to 2.5 s of full load). Each server is loaded alone
 * for a while before anything is measured; its answers are checked all the same.
 */
async function warmUpServers(context: Context, scenario: Scenario, pair: ServerPair) {
  for (const server of [pair.ceiling, pair.tollgate]) {
    const load: Load = { kind: 'saturation', driver: scenario.driver };
    const result = await measureOn(
      context,
      scenario,
      pair,
      server,
      load,
      0,
      settings.serverWarmupSeconds,
    );
    if (result.errors > 0) {
      context.problems.push(
        `${scenario.name} ${server.spec.name} warm-up: ${result.errors} wrong or failed answers: ` +
          result.errorExamples.join('; '),
      );
    }
  }
}

/**
 * The same load on the ceiling, then on `contender`, back to back, so a drift in the machine's
 * load hits both sides of the ratio alike. A pair that other processes disturbed is measured
 * again while the run's disturbance budget lasts, and the least disturbed attempt is kept.
 */
async function comparePair(
  context: Context,
  scenario: Scenario,
  pair: ServerPair,
  load: Load,
  warmupSeconds: number,
  durationSeconds: number,
  contender: RunningServer,
): Promise<Comparison> {
  const run = async (server: RunningServer): Promise<Measurement> => {
    const result = await measureOn(
      context,
      scenario,
      pair,
      server,
      load,
      warmupSeconds,
      durationSeconds,
    );
    const driverCpu =
      result.driverCpuCores === undefined
        ? ''
        : `, driver ${result.driverCpuCores.toFixed(2)} cores`;
    progress(
      `${scenario.name}: ${server.spec.name} ${labelOf(load)}: ${Math.round(result.throughputRps)}/s, ` +
        `p50 ${result.latency.p50Ms.toFixed(2)} ms, p99 ${result.latency.p99Ms.toFixed(2)} ms` +
        `${driverCpu}${flags(result)}`,
    );
    return result;
  };

  let best: { comparison: Comparison; noise: number } | undefined;
  for (let attempt = 1; ; attempt++) {
    await waitForQuietMachine(context);
    const ceiling = await run(pair.ceiling);
    const tollgate = await run(contender);
    const comparison = { ceiling, tollgate, ratio: ratiosOf(ceiling, tollgate) };
    const noise = Math.max(disturbanceOf(ceiling), disturbanceOf(tollgate));
    if (best === undefined || noise < best.noise) best = { comparison, noise };
    const again =
      noise > NOISY_OTHER_CPU &&
      attempt < MAX_ATTEMPTS &&
      spendDisturbanceBudget(context, warmupSeconds + durationSeconds);
    if (!again) break;
    context.disturbance.retries++;
    progress(`${scenario.name} ${labelOf(load)}: disturbed by other processes, measuring again`);
  }
  noteProblems(context, `${scenario.name} ceiling ${labelOf(load)}`, best.comparison.ceiling);
  noteProblems(
    context,
    `${scenario.name} ${contender.spec.name} ${labelOf(load)}`,
    best.comparison.tollgate,
  );
  return best.comparison;
}

/**
 * The node driver cannot push a do-nothing server as hard as h2load can (its HTTP/2 client costs
 * more per request than the server does), so where a scenario's saturation is driven by it (when
 * h2drive could not be built), the ceiling is also measured with h2load posting the scenario's
 * first request: same size, same shape, and the ceiling ignores the token. Targets are judged
 * against the higher of the two. h2drive keeps up with h2load, so its scenarios need no such row.
 */
async function measureCeilingWithH2load(
  context: Context,
  scenario: Scenario,
  pair: ServerPair,
): Promise<Measurement | undefined> {
  if (scenario.driver !== 'node' || scenario.transport !== 'tcp') return undefined;
  if (!context.inputs.h2loadAvailable) return undefined;
  const result = await measureOn(
    context,
    scenario,
    pair,
    pair.ceiling,
    { kind: 'saturation', driver: 'h2load' },
    settings.warmupSeconds,
    settings.saturationSeconds,
  );
  progress(
    `${scenario.name}: ceiling saturation via h2load: ${Math.round(result.throughputRps)}/s${flags(result)}`,
  );
  noteProblems(context, `${scenario.name} ceiling saturation via h2load`, result);
  return result;
}

/** A probe that does not reach the intended rule means the scenario measures something else. */
function checkProbe(scenario: Scenario, answer: ProbeAnswer): void {
  const { rule, reason } = answer.metadata;
  if (rule !== scenario.decision.rule || reason !== scenario.decision.reason) {
    throw new Error(
      `${scenario.name}: tollgate decided rule=${String(rule)} reason=${String(reason)}, ` +
        `the scenario needs rule=${scenario.decision.rule} reason=${scenario.decision.reason}`,
    );
  }
}

/** Waits (within the run's disturbance budget) for others' processes to calm down. */
async function waitForQuietMachine(context: Context): Promise<void> {
  const { disturbance } = context;
  const leftSeconds = disturbance.budgetSeconds - disturbance.spentSeconds;
  if (leftSeconds <= 0) return;
  const waitedMs = await waitForQuiet(QUIET_BUSY_CORES, Math.min(10, leftSeconds) * 1000);
  // The first 300 ms sample is always taken; only waiting beyond it counts.
  const extraSeconds = Math.max(0, waitedMs / 1000 - 0.3);
  disturbance.quietWaitSeconds += extraSeconds;
  disturbance.spentSeconds += extraSeconds;
}

function spendDisturbanceBudget(context: Context, pairSeconds: number): boolean {
  const { disturbance } = context;
  if (disturbance.spentSeconds + 2 * pairSeconds > disturbance.budgetSeconds) return false;
  disturbance.spentSeconds += 2 * pairSeconds;
  return true;
}

function labelOf(load: Load): string {
  return load.kind === 'saturation' ? 'saturation' : `${Math.round(load.rateRps)}/s`;
}

function noteProblems(context: Context, label: string, result: Measurement): void {
  if (result.errors > 0) {
    context.problems.push(
      `${label}: ${result.errors} wrong or failed answers: ${result.errorExamples.join('; ')}`,
    );
  }
  const marks = flags(result);
  if (marks.includes('[noisy'))
    context.problems.push(
      `${label}: ${marks.trim()} (other processes on the server's or driver's CPU)`,
    );
}
