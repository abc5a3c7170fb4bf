/**
 * What one benchmark run shares: its settings (from the command line and environment), where
 * files and processes go, and how the servers under test are started in it.
 */
import { readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchSettings } from './bench-results.js';
import type { ChildScripts } from './child-scripts.js';
import type { ProbeAnswer } from './decision-probe.js';
import type { DriverTarget } from './driver.js';
import type { Placement } from './measure.js';
import type { ScenarioInputs } from './scenarios.js';
import { type RunningServer, type ServerSpec, startServer } from './server-process.js';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(BENCH_DIR, '..');
export const RESULTS_DIR = join(BENCH_DIR, 'results');
export const TMP_DIR = join(RESULTS_DIR, 'tmp');
/**
 * The build under test is copied here (dist/, proto/, examples/ and package.json, as in the
 * package) when a run starts: others may rebuild dist/ during a run, and one run must measure
 * one build.
 */
export const SNAPSHOT_DIR = join(TMP_DIR, 'snapshot');
/** What `npm start`, the package's bin and the container run. */
const TOLLGATE_MAIN = join(SNAPSHOT_DIR, 'dist', 'cli', 'launch.js');
const SNAPSHOT_PROTO_DIR = join(SNAPSHOT_DIR, 'proto');

/** `--quick`: every run shorter and the memory run smaller; the targets are still judged. */
export const quick = process.argv.includes('--quick');
/** Durations in seconds; see BenchSettings. */
export const settings: BenchSettings = {
  serverWarmupSeconds: quick ? 1.5 : 3,
  warmupSeconds: quick ? 0.5 : 1,
  saturationSeconds: quick ? 1 : 5,
  loadWarmupSeconds: quick ? 0.25 : 1,
  loadSeconds: quick ? 0.75 : 3,
  loadFractions: [0.25, 0.5, 0.75],
  // One 30-50 ms pause (a major GC, another tenant) in a window decides its p99, and a busy
  // neighbour moves a saturation window by 20%: with the median of three rounds, one unlucky
  // window on either side does not decide a ratio.
  rounds: 3,
  memoryChecks: Number(process.env.BENCH_MEMORY_CHECKS ?? (quick ? 24_000 : 1_000_000)),
  memoryDistinctTokens: Number(process.env.BENCH_MEMORY_TOKENS ?? (quick ? 12_000 : 100_000)),
};
/**
 * `node` flags for both servers under test: BENCH_NODE_FLAGS when set (empty for V8's defaults),
 * else the flags of the Dockerfile's ENTRYPOINT, so that tollgate is measured as it ships and the
 * ceiling under the same heap limits.
 */
export const nodeFlags =
  process.env.BENCH_NODE_FLAGS === undefined
    ? shippedNodeFlags()
    : process.env.BENCH_NODE_FLAGS.split(/\s+/).filter((flag) => flag.length > 0);

/**
 * The environment of both servers under test: the bench's own plus the runtime image's `ENV`
 * lines (MALLOC_ARENA_MAX changes resident memory), so that tollgate runs as it ships.
 */
export const serverEnv: NodeJS.ProcessEnv = { ...process.env, ...shippedEnvironment() };

function shippedEnvironment(): Record<string, string> {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const runtimeStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  const variables: Record<string, string> = {};
  for (const [, name, value] of runtimeStage.matchAll(/^ENV\s+([A-Z_][A-Z0-9_]*)=(\S+)\s*$/gm)) {
    if (name !== undefined && value !== undefined) variables[name] = value;
  }
  return variables;
}

function shippedNodeFlags(): string[] {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const entrypoint = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile)?.[1];
  const command: unknown = entrypoint === undefined ? undefined : JSON.parse(entrypoint);
  if (!Array.isArray(command) || command[0] !== 'node') {
    throw new Error('Dockerfile: no ENTRYPOINT ["node", ...] to take the node flags from');
  }
  return command.slice(1).filter((part): part is string => String(part).startsWith('--'));
}

/** Between two measurements: lets the previous run's connections close and its GC settle. */
export const PAUSE_MS = quick ? 150 : 300;

export interface Context {
  readonly scripts: ChildScripts;
  readonly placement: Placement;
  readonly inputs: ScenarioInputs;
  readonly probe: (target: DriverTarget, frame: Buffer) => Promise<ProbeAnswer>;
  readonly startup: { tollgateMs: number[]; ceilingMs: number[] };
  readonly problems: string[];
  /** Time spent waiting for a quiet machine and measuring disturbed pairs again. */
  readonly disturbance: {
    quietWaitSeconds: number;
    retries: number;
    budgetSeconds: number;
    spentSeconds: number;
  };
}

export async function startTollgate(
  context: Context,
  name: string,
  transport: 'tcp' | 'unix',
): Promise<RunningServer> {
  const { listen, target } = await chooseAddress(`tollgate-${name}`, transport);
  const config = context.inputs.fixtures.writeConfig(`tollgate-${name}`, listen);
  const server = await startServer(
    serverSpec('tollgate', [TOLLGATE_MAIN, 'serve', '--config', config], target, context, name),
  );
  context.startup.tollgateMs.push(server.startToServingMs);
  return server;
}

export async function startCeiling(
  context: Context,
  name: string,
  transport: 'tcp' | 'unix',
): Promise<RunningServer> {
  const { listen, target } = await chooseAddress(`ceiling-${name}`, transport);
  const server = await startServer(
    serverSpec(
      'ceiling',
      [context.scripts.ceilingServer, listen, SNAPSHOT_PROTO_DIR],
      target,
      context,
      name,
    ),
  );
  context.startup.ceilingMs.push(server.startToServingMs);
  return server;
}

/**
 * The ceiling verifying one token's signature on every Check (see ceiling-server.ts): the
 * fastest any server can answer a stream of new tokens signed with that token's alg.
 */
export async function startSignatureOnly(
  context: Context,
  name: string,
  signatureFile: string,
): Promise<RunningServer> {
  const { listen, target } = await chooseAddress(`signature-only-${name}`, 'tcp');
  return startServer(
    serverSpec(
      'signature-only',
      [context.scripts.ceilingServer, listen, SNAPSHOT_PROTO_DIR, signatureFile],
      target,
      context,
      name,
    ),
  );
}

function serverSpec(
  name: 'tollgate' | 'ceiling' | 'signature-only',
  args: string[],
  target: DriverTarget,
  context: Context,
  scenario: string,
): ServerSpec {
  return {
    name,
    args,
    nodeFlags,
    env: serverEnv,
    cpu: context.placement.serverCpu,
    target,
    stdoutFile: join(TMP_DIR, 'logs', `${name}-${scenario}.log`),
  };
}

async function chooseAddress(
  name: string,
  transport: 'tcp' | 'unix',
): Promise<{ listen: string; target: DriverTarget }> {
  if (transport === 'unix') {
    const path = join(TMP_DIR, 'sockets', `${name}.sock`);
    rmSync(path, { force: true });
    return { listen: `unix:${path}`, target: { kind: 'unix', path } };
  }
  const port = await findFreePort();
  return { listen: `127.0.0.1:${port}`, target: { kind: 'tcp', host: '127.0.0.1', port } };
}

function findFreePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        resolvePort(typeof address === 'object' && address !== null ? address.port : 0),
      );
    });
  });
}

export function pause(ms: number): Promise<void> {
  return new Promise((resolveDelay) => setTimeout(resolveDelay, ms));
}

export function progress(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}
