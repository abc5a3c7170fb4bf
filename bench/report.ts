/** The benchmark's printed report: one table of every measurement, then memory, start-up, targets. */
import { settings } from './bench-context.js';
import type { BenchResults, Comparison, ScenarioResult } from './bench-results.js';
import type { Measurement } from './measure.js';

/** Other CPU on the server's core above this (in cores) marks a measurement as disturbed. */
export const NOISY_OTHER_CPU = 0.15;
/** A server using less CPU than this at saturation was waiting on its driver, not saturated. */
export const SATURATED_CPU = 0.85;

export function formatReport(results: BenchResults): string {
  const { meta } = results;
  const lines: string[] = [];
  lines.push(
    `tollgate benchmark, ${meta.mode} mode, ${meta.date}`,
    `${meta.host.cpus} CPUs (${meta.host.cpuModel}), ${Math.round(meta.host.memoryMB / 1000)} GB, ` +
      `node ${meta.node}${meta.nodeFlags.length > 0 ? ` ${meta.nodeFlags.join(' ')}` : ''}, ${meta.pinning}`,
    `git ${meta.git.commit.slice(0, 12)}${meta.git.dirty ? ' with uncommitted changes in src/' : ''}, ` +
      `dist/ ${meta.dist.sha256.slice(0, 12)} built ${meta.dist.builtAt}; ` +
      `h2load: ${meta.h2load ?? 'not installed'}; ` +
      `h2drive: ${meta.h2drive ?? 'not built (the node driver stands in for it)'}`,
  );
  lines.push(
    `Disturbance: waited ${meta.disturbance.quietWaitSeconds.toFixed(0)} s for a quiet machine, ` +
      `measured ${meta.disturbance.retries} disturbed pairs again.`,
  );
  if (meta.mode === 'quick') {
    lines.push(
      'QUICK MODE: shorter runs and fewer memory Checks; targets are judged on reduced counts.',
    );
  }
  lines.push('', ...formatScenarioTable(results.scenarios), '');
  lines.push(...formatSignatureOnly(results.scenarios));

  const { memory } = results;
  lines.push(
    `Memory after ${memory.checks.toLocaleString('en')} Checks over ${memory.distinctTokens.toLocaleString('en')} distinct ${memory.algorithm} tokens, driven by ${memory.driver} (RSS, MB):`,
    `  ${pad('', 9)}${padStart('idle', 8)}${padStart('after', 8)}${padStart('peak', 8)}${padStart('rps', 9)}${padStart('p99 ms', 9)}`,
  );
  for (const server of ['ceiling', 'tollgate'] as const) {
    const figures = memory[server];
    lines.push(
      `  ${pad(server, 9)}${num(figures.idleRssMB, 1, 8)}${num(figures.rssAfterMB, 1, 8)}${num(figures.peakRssMB, 1, 8)}` +
        `${num(figures.throughputRps, 0, 9)}${num(figures.latency.p99Ms, 2, 9)}`,
    );
  }
  lines.push('', 'Peak RSS per scenario (MB, VmHWM):');
  for (const scenario of results.scenarios) {
    lines.push(
      `  ${pad(scenario.name, 11)} ceiling ${num(scenario.peakRssMB.ceiling, 1, 6)}   tollgate ${num(scenario.peakRssMB.tollgate, 1, 6)}` +
        `   (tollgate wrote ${scenario.tollgateLog.lines.toLocaleString('en')} log lines)`,
    );
  }

  const starts = results.startup;
  lines.push(
    '',
    `Start to SERVING (ms): tollgate ${summarizeStarts(starts.tollgateMs)}; ceiling ${summarizeStarts(starts.ceilingMs)}`,
    '',
    `Targets${meta.mode === 'quick' ? ' (quick mode: reduced counts)' : ''}:`,
  );
  for (const target of results.targets) {
    const measured = Number.isFinite(target.measured)
      ? target.measured.toFixed(target.unit === 'x' ? 2 : 1)
      : 'n/a';
    const doubts = target.doubts.length > 0 ? ` [${target.doubts.join(', ')}]` : '';
    lines.push(
      `  ${pad(target.outcome.toUpperCase(), 7)}${pad(target.name, 44)} ${padStart(measured, 8)} ${target.unit} ` +
        `(${target.comparison} ${target.limit} ${target.unit}): ${target.detail}${doubts}`,
    );
  }
  if (results.targets.some((target) => target.outcome === 'unsure')) {
    lines.push(
      '  UNSURE: met, but on measurements that cannot back a pass; run again on a quiet machine.',
    );
  }
  if (results.problems.length > 0) {
    lines.push(
      '',
      'Problems (these measurements are not trustworthy):',
      ...results.problems.map((p) => `  - ${p}`),
    );
  }
  return lines.join('\n');
}

/**
 * The cold scenarios against a server that only checks one signature per Check: the share of
 * the ceiling that no server verifying every new token reaches past, here.
 */
function formatSignatureOnly(scenarios: readonly ScenarioResult[]): string[] {
  const measured = scenarios.filter((scenario) => scenario.signatureOnly !== undefined);
  if (measured.length === 0) return [];
  const lines = [
    'Signature only: the ceiling plus one signature check per Check, and nothing else',
    `(${settings.rounds} rounds of ceiling then it at saturation, each side's median round):`,
  ];
  for (const scenario of measured) {
    const { ceiling, server, throughputRatio } = scenario.signatureOnly as NonNullable<
      ScenarioResult['signatureOnly']
    >;
    const tollgateRatio = scenario.saturation.ratio.throughput;
    lines.push(
      `  ${pad(scenario.name, 11)} ceiling ${num(ceiling.throughputRps, 0, 7)}/s   signature-only ` +
        `${num(server.throughputRps, 0, 7)}/s = ${throughputRatio.toFixed(2)} x ceiling ${flags(server)}` +
        `   tollgate ${tollgateRatio.toFixed(2)} x ceiling = ${(tollgateRatio / throughputRatio).toFixed(2)} x signature-only`,
    );
  }
  lines.push('');
  return lines;
}

function formatScenarioTable(scenarios: readonly ScenarioResult[]): string[] {
  const header =
    `${pad('scenario', 11)}${pad('load', 22)}${pad('server', 9)}${padStart('rps', 8)}${padStart('p50 ms', 9)}` +
    `${padStart('p99 ms', 9)}${padStart('p99.9 ms', 10)}${padStart('cpu', 6)}  ` +
    `${padStart('rps x', 7)}${padStart('p50 x', 7)}${padStart('p99 x', 7)}${padStart('p99.9 x', 9)}`;
  const lines = [header, '-'.repeat(header.length)];
  for (const scenario of scenarios) {
    const rows: [string, Comparison][] = [
      [`saturation (${scenario.saturation.tollgate.driver})`, scenario.saturation],
      ...scenario.loads.map((load): [string, Comparison] => [
        `${Math.round(load.fraction * 100)}% = ${Math.round(load.offeredRps).toLocaleString('en')}/s`,
        load,
      ]),
    ];
    rows.forEach(([label, comparison], index) => {
      const first = index === 0 ? scenario.name : '';
      lines.push(row(first, label, 'ceiling', comparison.ceiling, undefined));
      lines.push(row('', '', 'tollgate', comparison.tollgate, comparison));
      if (index === 0 && scenario.ceilingViaH2load !== undefined) {
        const viaH2load = scenario.ceilingViaH2load;
        const ratio = comparison.tollgate.throughputRps / viaH2load.throughputRps;
        lines.push(
          `${row('', 'saturation (h2load)', 'ceiling', viaH2load, undefined)}` +
            `  tollgate/this: ${ratio.toFixed(2)}`,
        );
      }
    });
  }
  lines.push(
    '',
    'rps x, p50 x ...: tollgate over the ceiling in the same run (rps: higher is better, ideal 1; latency: lower is better, ideal 1).',
    "Fixed loads (25/50/75% of the ceiling's saturation rate) use the saturation row's driver:",
    "h2load --rps, or h2drive's (or the node driver's) open loop. Every row is measured in",
    `${settings.rounds} rounds of one ceiling and one tollgate window; each row is that server's`,
    'median round (by rps at saturation, by p99 at fixed loads).',
    'cpu: cores the server used.',
    'Flags: [overloaded] answered < 95% of the offered rate;',
    `[noisy s/d] other processes used > ${NOISY_OTHER_CPU} of the server's (s) or driver's (d) core;`,
    `[driver-bound?] at saturation the server used < ${SATURATED_CPU} cores: the driver, not the`,
    'server, set the pace, so that throughput understates the server. [errors] wrong or failed answers.',
  );
  return lines;
}

function row(
  scenario: string,
  load: string,
  server: string,
  measurement: Measurement,
  comparison: Comparison | undefined,
): string {
  const { latency } = measurement;
  const ratio = comparison?.ratio;
  const ratios =
    ratio === undefined
      ? ''
      : `${num(ratio.throughput, 2, 7)}${num(ratio.p50, 2, 7)}${num(ratio.p99, 2, 7)}${num(ratio.p999, 2, 9)}`;
  return (
    `${pad(scenario, 11)}${pad(load, 22)}${pad(server, 9)}${num(measurement.throughputRps, 0, 8)}` +
    `${num(latency.p50Ms, 2, 9)}${num(latency.p99Ms, 2, 9)}${num(latency.p999Ms, 2, 10)}` +
    `${num(measurement.serverCpuCores, 2, 6)}  ${ratios}${flags(measurement)}`
  );
}

/** Markers that tell a reader a number means less than it seems. */
export function flags(measurement: Measurement): string {
  const marks: string[] = [];
  if (
    measurement.offeredRps !== undefined &&
    measurement.throughputRps < 0.95 * measurement.offeredRps
  ) {
    marks.push('overloaded');
  }
  if (disturbanceOf(measurement) > NOISY_OTHER_CPU) {
    const server = (measurement.otherCpuOnServerCore ?? 0).toFixed(2);
    const driver = (measurement.otherCpuOnDriverCore ?? 0).toFixed(2);
    marks.push(`noisy ${server}/${driver}`);
  }
  if (measurement.offeredRps === undefined && measurement.serverCpuCores < SATURATED_CPU) {
    marks.push('driver-bound?');
  }
  if (measurement.errors > 0) marks.push(`errors ${measurement.errors}`);
  return marks.length === 0 ? '' : ` [${marks.join('] [')}]`;
}

/** The larger of the CPU others took on the server's core and on the driver's, in cores. */
export function disturbanceOf(measurement: Measurement): number {
  return Math.max(measurement.otherCpuOnServerCore ?? 0, measurement.otherCpuOnDriverCore ?? 0);
}

function summarizeStarts(values: readonly number[]): string {
  if (values.length === 0) return 'n/a';
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor((sorted.length - 1) / 2)] as number;
  return `min ${(sorted[0] as number).toFixed(0)}, median ${median.toFixed(0)}, max ${(sorted.at(-1) as number).toFixed(0)} (${values.length} starts)`;
}

function num(value: number, decimals: number, width: number): string {
  const text = Number.isFinite(value)
    ? value.toLocaleString('en', {
        minimumFractionDigits: decimals,
        maximumFractionDigits: decimals,
      })
    : 'n/a';
  return padStart(text, width);
}

function pad(text: string, width: number): string {
  return text.length >= width ? `${text} ` : text.padEnd(width);
}

/** Right-aligned, and never touching the column before: a too-wide value pushes the row on. */
function padStart(text: string, width: number): string {
  return text.length >= width ? ` ${text}` : text.padStart(width);
}
