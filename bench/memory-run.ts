/** The memory run: the same long load on a fresh ceiling and a fresh tollgate, RSS after it. */
import { rmSync } from 'node:fs';
import {
  type Context,
  pause,
  progress,
  settings,
  startCeiling,
  startTollgate,
} from './bench-context.js';
import type { MemoryFigures, MemoryResult } from './bench-results.js';
import { runFramesDriver } from './measure.js';
import { buildMemoryFrames, framesDriverOf, MEMORY_ALGORITHM } from './scenarios.js';
import type { RunningServer } from './server-process.js';

/** The memory run's closed-loop shape: deeper than the others, to get through it faster. */
const MEMORY_CONNECTIONS = 8;
const MEMORY_STREAMS_PER_CONNECTION = 32;

/**
 * 1,000,000 Checks over 100,000 distinct RS256 tokens (by default), each token sent ten times in
 * a row: ten times more tokens than the verified-token cache holds pass through it, so an
 * unbounded cache or a leak shows as RSS growth. RSS is read right after the last answer.
 */
export async function runMemory(context: Context): Promise<MemoryResult> {
  const distinctTokens = Math.min(settings.memoryDistinctTokens, settings.memoryChecks);
  const { framesFile, expect } = await buildMemoryFrames(context.inputs, distinctTokens);
  const repeatEachFrame = Math.max(1, Math.floor(settings.memoryChecks / distinctTokens));
  const driver = framesDriverOf(context.inputs);
  const programs = { nodeScript: context.scripts.driver, h2drive: context.inputs.h2drive };
  const figures = async (server: RunningServer): Promise<MemoryFigures> => {
    try {
      await pause(1000);
      const idleRssMB = server.memory().rssMB;
      const result = await runFramesDriver(driver, programs, context.placement.driverCpu, {
        target: server.spec.target,
        framesFile,
        repeatEachFrame,
        connections: MEMORY_CONNECTIONS,
        load: { mode: 'closed', streamsPerConnection: MEMORY_STREAMS_PER_CONNECTION },
        warmupMs: 0,
        durationMs: 0,
        totalRequests: settings.memoryChecks,
        expect: server.spec.name === 'ceiling' ? { allow: true } : expect,
      });
      const { rssMB, peakRssMB } = server.memory();
      progress(
        `memory: ${server.spec.name}: idle ${idleRssMB.toFixed(1)} MB, after ${rssMB.toFixed(1)} MB, ` +
          `peak ${peakRssMB.toFixed(1)} MB, ${Math.round(result.throughputRps)}/s`,
      );
      if (result.errors > 0) {
        context.problems.push(
          `memory run ${server.spec.name}: ${result.errors} errors: ${result.errorExamples.join('; ')}`,
        );
      }
      return {
        idleRssMB,
        rssAfterMB: rssMB,
        peakRssMB,
        throughputRps: result.throughputRps,
        latency: result.latency,
        errors: result.errors,
      };
    } finally {
      await server.stop();
      rmSync(server.spec.stdoutFile, { force: true });
    }
  };

  progress(
    `memory: ${settings.memoryChecks.toLocaleString('en')} Checks over ${distinctTokens.toLocaleString('en')} tokens, each server, driven by ${driver}`,
  );
  const ceiling = await figures(await startCeiling(context, 'memory', 'tcp'));
  const tollgate = await figures(await startTollgate(context, 'memory', 'tcp'));
  return {
    checks: settings.memoryChecks,
    distinctTokens,
    algorithm: MEMORY_ALGORITHM,
    driver,
    ceiling,
    tollgate,
  };
}
