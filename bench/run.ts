/**
 * `npm run bench [-- --quick]`: measures tollgate against a do-nothing gRPC server (the ceiling)
 * under the same loads in the same run, prints the table, writes bench/results/, and exits
 * non-zero when a target of the issue is missed (1), a measurement got wrong answers (2), or a
 * target was met only on measurements that other processes disturbed (3).
 *
 * Environment: BENCH_MEMORY_CHECKS and BENCH_MEMORY_TOKENS (Checks and distinct tokens in the
 * memory run: 1,000,000 over 100,000, or 24,000 over 12,000 with --quick), BENCH_NODE_FLAGS
 * (extra `node` flags for both servers, e.g. "--max-old-space-size=64"). See docs/performance.md.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { PROTO_OPTIONS } from '../src/envoy/proto-definitions.js';
import {
  BENCH_DIR,
  type Context,
  nodeFlags,
  progress,
  quick,
  RESULTS_DIR,
  ROOT,
  SNAPSHOT_DIR,
  settings,
  TMP_DIR,
} from './bench-context.js';
import type { BenchResults, ScenarioResult } from './bench-results.js';
import { renderLatencyChart } from './chart.js';
import { buildChildScripts } from './child-scripts.js';
import { createDecisionProbe } from './decision-probe.js';
import { prepareFixtures } from './fixtures.js';
import { createCheckRequestEncoder } from './grpc-frame.js';
import { buildH2drive } from './h2drive.js';
import { findH2load } from './h2load.js';
import type { Placement } from './measure.js';
import { runMemory } from './memory-run.js';
import { formatReport } from './report.js';
import { runScenario } from './scenario-run.js';
import { buildScenarios, type ScenarioInputs } from './scenarios.js';
import { judgeTargets } from './targets.js';

async function main(): Promise<number> {
  const startedMs = performance.now();
  if (!existsSync(join(ROOT, 'dist', 'cli', 'launch.js'))) {
    process.stderr.write('dist/ is missing: run `npm run build` first (npm run bench does).\n');
    return 2;
  }
  const dist = snapshotBuild();
  const h2drive = buildH2drive(BENCH_DIR, TMP_DIR);
  const h2load = findH2load();
  if (h2load === undefined) {
    process.stderr.write(
      'h2load not found; install it with `apt-get install nghttp2-client` for the h2load runs.\n' +
        `Continuing with ${h2drive === undefined ? 'the node driver' : 'h2drive'} for every load.\n`,
    );
  }
  const placement = choosePlacement();
  for (const dir of ['fixtures', 'frames', 'logs', 'sockets'])
    mkdirSync(join(TMP_DIR, dir), { recursive: true });

  progress(`building fixtures in ${TMP_DIR} (token sets are minted once, then reused)`);
  const fixtures = await prepareFixtures(join(TMP_DIR, 'fixtures'));
  const inputs: ScenarioInputs = {
    fixtures,
    encode: createCheckRequestEncoder(PROTO_OPTIONS),
    dir: join(TMP_DIR, 'frames'),
    h2loadAvailable: h2load !== undefined,
    h2drive: h2drive?.binary,
  };
  const context: Context = {
    scripts: buildChildScripts(BENCH_DIR, join(TMP_DIR, 'js')),
    placement,
    inputs,
    probe: createDecisionProbe(PROTO_OPTIONS),
    startup: { tollgateMs: [], ceilingMs: [] },
    problems: [],
    disturbance: {
      quietWaitSeconds: 0,
      retries: 0,
      budgetSeconds: quick ? 20 : 120,
      spentSeconds: 0,
    },
  };
  const scenarios = await buildScenarios(inputs);

  const scenarioResults: ScenarioResult[] = [];
  for (const scenario of scenarios) scenarioResults.push(await runScenario(context, scenario));
  const memory = await runMemory(context);

  const targets = judgeTargets(scenarioResults, memory, context.startup);
  const results: BenchResults = {
    meta: {
      date: new Date().toISOString(),
      mode: quick ? 'quick' : 'full',
      host: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
        memoryMB: totalmem() / 1e6,
        kernel: release(),
      },
      node: process.version,
      nodeFlags,
      h2load,
      h2drive: h2drive?.version,
      pinning:
        placement.serverCpu === undefined
          ? 'not pinned (needs taskset and 2 CPUs)'
          : `servers pinned to CPU ${placement.serverCpu}, drivers to CPU ${placement.driverCpu}`,
      git: readGit(),
      dist,
      settings,
      disturbance: {
        quietWaitSeconds: context.disturbance.quietWaitSeconds,
        retries: context.disturbance.retries,
      },
      durationSeconds: (performance.now() - startedMs) / 1000,
    },
    scenarios: scenarioResults,
    memory,
    startup: context.startup,
    targets,
    problems: context.problems,
  };
  writeResults(results);
  process.stdout.write(`\n${formatReport(results)}\n`);
  process.stdout.write(`\nRun time ${results.meta.durationSeconds.toFixed(0)} s.\n`);

  return exitCodeOf(results);
}

/**
 * 2: a measurement got wrong or failed answers (the numbers mean nothing); 1: a target missed;
 * 3: no target missed, but one was met only on disturbed measurements; 0: every target passed.
 */
function exitCodeOf(results: BenchResults): number {
  if (results.problems.some((problem) => problem.includes('wrong or failed answers'))) return 2;
  if (results.problems.some((problem) => problem.startsWith('memory run'))) return 2;
  if (results.targets.some((target) => target.outcome === 'miss')) return 1;
  if (results.targets.some((target) => target.outcome === 'unsure')) return 3;
  return 0;
}

/** Servers on one CPU, drivers on another, when taskset and two CPUs are there. */
function choosePlacement(): Placement {
  const hasTaskset = (() => {
    try {
      execFileSync('taskset', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  if (cpus().length < 2 || !hasTaskset) {
    process.stderr.write('not pinning processes to CPUs (needs taskset and at least 2 CPUs)\n');
    return { serverCpu: undefined, driverCpu: undefined };
  }
  return { serverCpu: 0, driverCpu: 1 };
}

function writeResults(results: BenchResults): void {
  const stamp = results.meta.date.replace(/[:.]/g, '-');
  const suffix = results.meta.mode === 'quick' ? '-quick' : '';
  const json = `${JSON.stringify(results, null, 2)}\n`;
  const svg = renderLatencyChart(results);
  writeFileSync(join(RESULTS_DIR, `${stamp}${suffix}.json`), json);
  writeFileSync(join(RESULTS_DIR, `${stamp}${suffix}.svg`), svg);
  // latest.* are committed and documented: only a full run replaces them.
  if (results.meta.mode === 'full') {
    writeFileSync(join(RESULTS_DIR, 'latest.json'), json);
    writeFileSync(join(RESULTS_DIR, 'latest.svg'), svg);
  }
  progress(
    `results: ${join(RESULTS_DIR, `${stamp}${suffix}.json`)} and .svg${suffix === '' ? ', latest.json, latest.svg' : ''}`,
  );
}

/**
 * Copies dist/, proto/, examples/ and package.json to SNAPSHOT_DIR, and says which build that
 * is. Under node flags (the Dockerfile's by default), the bundle's code cache is written again, as the
 * Dockerfile does for its own: V8 refuses a cache written under other flags.
 */
function snapshotBuild(): { sha256: string; builtAt: string } {
  rmSync(SNAPSHOT_DIR, { recursive: true, force: true });
  // The package's own layout: the CLI reads ../../package.json, PROTO_DIR is ../../proto.
  for (const entry of ['dist', 'proto', 'examples', 'package.json']) {
    cpSync(join(ROOT, entry), join(SNAPSHOT_DIR, entry), {
      recursive: true,
      preserveTimestamps: true,
    });
  }
  if (nodeFlags.length > 0) {
    execFileSync(process.execPath, [...nodeFlags, join(ROOT, 'scripts', 'write-code-cache.mjs')], {
      cwd: SNAPSHOT_DIR,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  const build = describeDist(join(SNAPSHOT_DIR, 'dist'));
  progress(
    `measuring the build in dist/ of ${build.builtAt} (sha256 ${build.sha256.slice(0, 12)})`,
  );
  return build;
}

function describeDist(dir: string): { sha256: string; builtAt: string } {
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.js') || file.endsWith('.cjs'))
    .sort();
  const hash = createHash('sha256');
  let newestMs = 0;
  for (const file of files) {
    const path = join(dir, file);
    hash.update(file).update(readFileSync(path));
    newestMs = Math.max(newestMs, statSync(path).mtimeMs);
  }
  return { sha256: hash.digest('hex'), builtAt: new Date(newestMs).toISOString() };
}

function readGit(): { commit: string; dirty: boolean } {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd: ROOT,
      encoding: 'utf8',
    }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--', 'src'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    return { commit, dirty: status.trim().length > 0 };
  } catch {
    return { commit: 'unknown', dirty: true };
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 2;
  },
);
