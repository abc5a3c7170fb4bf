/**
 * Load from outside Node: nghttp2's `h2load` (Debian package `nghttp2-client`) posting one
 * pre-encoded gRPC frame over and over, at saturation with `-c 4 -m 16 -t 1` (4 connections, 16
 * streams each, one thread) or at a fixed rate with `--rps`. h2load knows HTTP, not gRPC: it
 * cannot see grpc-status nor the decision, so each run is checked by its response bytes (every
 * answer must be exactly the frame the scenario's probe received, see decision-probe.ts).
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { CHECK_PATH } from './grpc-frame.js';
import { LatencyRecorder, type LatencySummary } from './latency-stats.js';

export interface H2loadOptions {
  readonly host: string;
  readonly port: number;
  readonly frameFile: string;
  readonly connections: number;
  readonly streamsPerConnection: number;
  /**
   * Fixed-rate mode (h2load --rps): requests per second on each connection. h2load sends on
   * schedule while a stream is free; `streamsPerConnection` is kept large so that limit only
   * binds when the server falls behind, which the achieved rate then shows.
   */
  readonly rpsPerConnection?: number;
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
  readonly cpu: number | undefined;
  readonly logFile: string;
  /** Size of the response frame every answer must have, in bytes. */
  readonly expectedResponseFrameBytes: number;
}

export interface H2loadResult {
  readonly throughputRps: number;
  readonly latency: LatencySummary;
  readonly succeeded: number;
  readonly errors: number;
  readonly errorExamples: string[];
  /** h2load's CPU time over both invocations (warm-up and measured), in ms. */
  readonly cpuTotalMs: number;
}

/** The installed h2load's version line, or undefined when it is not installed. */
export function findH2load(): string | undefined {
  try {
    return execFileSync('h2load', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

export async function runH2load(options: H2loadOptions): Promise<H2loadResult> {
  // A separate warm-up run: h2load's own --warm-up-time leaves warm-up bytes in its traffic
  // totals and zero statuses in its log, which would defeat the checks below.
  const warmup =
    options.warmupSeconds > 0
      ? await invoke(options, options.warmupSeconds, undefined)
      : { output: '', cpuMs: 0 };
  rmSync(options.logFile, { force: true });
  const { output, cpuMs } = await invoke(options, options.durationSeconds, options.logFile);
  const summary = parseSummary(output);
  const errorExamples: string[] = [];
  const problem = (text: string) => errorExamples.length < 5 && errorExamples.push(text);

  if (summary.failed > 0 || summary.errored > 0 || summary.timeout > 0) {
    problem(
      `h2load: ${summary.failed} failed, ${summary.errored} errored, ${summary.timeout} timed out`,
    );
  }
  if (summary.non2xx > 0) problem(`h2load: ${summary.non2xx} answers with a non-2xx HTTP status`);
  // An answer that is not the expected CheckResponse (a gRPC error has no body, a different
  // decision has another size) breaks this equality.
  const expectedBytes = summary.status2xx * options.expectedResponseFrameBytes;
  if (summary.dataBytes !== expectedBytes) {
    problem(
      `h2load: ${summary.dataBytes} response bytes for ${summary.status2xx} answers, expected ${options.expectedResponseFrameBytes} each`,
    );
  }

  const latencies = new LatencyRecorder();
  for (const line of readFileSync(options.logFile, 'utf8').split('\n')) {
    // start time (µs since the epoch), HTTP status, duration (µs); status 0 marks a request
    // still unanswered when the run ended.
    const [, status, durationUs] = line.split('\t');
    if (status === '200') latencies.record(Number(durationUs) / 1000);
  }
  rmSync(options.logFile, { force: true });

  return {
    throughputRps: summary.succeeded / options.durationSeconds,
    latency: latencies.summarize(),
    succeeded: summary.succeeded,
    errors: errorExamples.length,
    errorExamples,
    cpuTotalMs: warmup.cpuMs + cpuMs,
  };
}

function invoke(
  options: H2loadOptions,
  durationSeconds: number,
  logFile: string | undefined,
): Promise<{ output: string; cpuMs: number }> {
  const args = [
    '-c',
    String(options.connections),
    '-m',
    String(options.streamsPerConnection),
    '-t',
    '1',
    '-D',
    `${Math.round(durationSeconds * 1000)}ms`,
    '-d',
    options.frameFile,
    '-H',
    'content-type: application/grpc',
    '-H',
    'te: trailers',
    ...(options.rpsPerConnection === undefined
      ? []
      : ['--rps', options.rpsPerConnection.toFixed(2)]),
    ...(logFile === undefined ? [] : ['--log-file', logFile]),
    `http://${options.host}:${options.port}${CHECK_PATH}`,
  ];
  // bash's `times` prints the CPU time of its children (h2load) when it is done.
  const script = 'h2load "$@"; code=$?; times >&2; exit $code';
  const bash = ['bash', '-c', script, 'h2load', ...args];
  const [command, ...commandArgs] =
    options.cpu === undefined ? bash : ['taskset', '-c', String(options.cpu), ...bash];
  return new Promise((resolve, reject) => {
    const child = spawn(command as string, commandArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let errors = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      errors += chunk.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) {
        reject(
          new Error(`h2load exited with code ${String(code)}:\n${(output + errors).slice(-2000)}`),
        );
        return;
      }
      resolve({ output, cpuMs: parseChildrenCpuMs(errors) });
    });
  });
}

/** The last line of `times`: children's user and system time, as `0m1.234s 0m0.567s`. */
function parseChildrenCpuMs(timesOutput: string): number {
  const line = timesOutput.trim().split('\n').at(-1) ?? '';
  const seconds = [...line.matchAll(/(\d+)m([\d.]+)s/g)].map(
    (match) => Number(match[1]) * 60 + Number(match[2]),
  );
  return seconds.length === 2
    ? ((seconds[0] as number) + (seconds[1] as number)) * 1000
    : Number.NaN;
}

interface H2loadSummary {
  succeeded: number;
  failed: number;
  errored: number;
  timeout: number;
  status2xx: number;
  non2xx: number;
  dataBytes: number;
}

/** Reads the `requests:`, `status codes:` and `traffic:` lines of h2load's report. */
function parseSummary(output: string): H2loadSummary {
  const number = (pattern: RegExp) => {
    const match = pattern.exec(output);
    if (match === null) throw new Error(`unexpected h2load output (no ${pattern}):\n${output}`);
    return Number(match[1]);
  };
  return {
    succeeded: number(/(\d+) succeeded/),
    failed: number(/(\d+) failed/),
    errored: number(/(\d+) errored/),
    timeout: number(/(\d+) timeout/),
    status2xx: number(/(\d+) 2xx/),
    non2xx: number(/(\d+) 3xx/) + number(/(\d+) 4xx/) + number(/(\d+) 5xx/),
    dataBytes: number(/\((\d+)\) data/),
  };
}
