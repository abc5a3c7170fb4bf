/**
 * Starting, watching and stopping the servers under test (tollgate and the ceiling), each in its
 * own process started the same way: `node`, the same flags, pinned to the same CPU when the
 * machine allows it, stdout to a file. Readiness is grpc.health.v1 answering SERVING, asked
 * over raw HTTP/2 every few milliseconds so no client backoff hides the moment it happens.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { connect, constants as http2 } from 'node:http2';
import { connect as connectSocket } from 'node:net';
import type { DriverTarget } from './driver.js';

export interface ServerSpec {
  readonly name: string;
  /** The script and its arguments, after `node` and `nodeFlags`. */
  readonly args: readonly string[];
  readonly nodeFlags: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** `taskset -c <cpu>` when set. */
  readonly cpu: number | undefined;
  readonly target: DriverTarget;
  readonly stdoutFile: string;
}

export interface MemorySample {
  /** Resident set size now, in MB of 10^6 bytes (VmRSS). */
  readonly rssMB: number;
  /** Highest resident set size so far, in MB (VmHWM). */
  readonly peakRssMB: number;
}

export interface RunningServer {
  readonly spec: ServerSpec;
  readonly pid: number;
  /** From spawn to the first SERVING answer, in ms. */
  readonly startToServingMs: number;
  memory(): MemorySample;
  /** CPU time used so far (user + system), in ms. */
  cpuTimeMs(): number;
  /** Bytes and lines written to stdout so far (tollgate: one info line per decision). */
  stdoutStats(): { bytes: number; lines: number };
  stop(): Promise<void>;
}

const HEALTH_CHECK_PATH = '/grpc.health.v1.Health/Check';
/** An empty HealthCheckRequest (service "" = the whole server) as a gRPC frame. */
const EMPTY_HEALTH_REQUEST = Buffer.from([0, 0, 0, 0, 0]);
/** HealthCheckResponse { status: SERVING (1) } as a gRPC frame. */
const SERVING_RESPONSE = Buffer.from([0, 0, 0, 0, 2, 0x08, 0x01]);
const CLOCK_TICKS_PER_SECOND = 100;

export async function startServer(spec: ServerSpec, timeoutMs = 15_000): Promise<RunningServer> {
  const stdout = openSync(spec.stdoutFile, 'w');
  const command = [process.execPath, ...spec.nodeFlags, ...spec.args];
  const startedMs = performance.now();
  const child =
    spec.cpu === undefined
      ? spawn(command[0] as string, command.slice(1), {
          stdio: ['ignore', stdout, 'pipe'],
          env: spec.env,
        })
      : spawn('taskset', ['-c', String(spec.cpu), ...command], {
          stdio: ['ignore', stdout, 'pipe'],
          env: spec.env,
        });
  closeSync(stdout);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));

  const serving = await waitForServing(spec.target, startedMs + timeoutMs, exited);
  if (serving !== 'serving') {
    child.kill('SIGKILL');
    await exited;
    throw new Error(
      `${spec.name} did not report SERVING (${serving}); see ${spec.stdoutFile}; stderr:\n${stderr}`,
    );
  }
  const startToServingMs = performance.now() - startedMs;
  return describeRunning(spec, child, startToServingMs, exited);
}

function describeRunning(
  spec: ServerSpec,
  child: ChildProcess,
  startToServingMs: number,
  exited: Promise<number | null>,
): RunningServer {
  // taskset replaces itself with node (exec), so the pid is node's.
  const pid = child.pid as number;
  return {
    spec,
    pid,
    startToServingMs,
    memory: () => {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      // /proc reports these in kB that are KiB.
      const bytes = (field: string) =>
        Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) * 1024;
      return { rssMB: bytes('VmRSS') / 1e6, peakRssMB: bytes('VmHWM') / 1e6 };
    },
    cpuTimeMs: () => {
      // Fields after the command name (which may hold spaces) in /proc/PID/stat; utime and
      // stime are the 14th and 15th fields overall.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]);
      return (ticks / CLOCK_TICKS_PER_SECOND) * 1000;
    },
    stdoutStats: () => countLines(spec.stdoutFile),
    stop: async () => {
      // tollgate drains on the first SIGTERM (NOT_SERVING while still answering, for Envoy's
      // health checks to notice); a second signal skips the drain.
      child.kill('SIGTERM');
      const again = setTimeout(() => child.kill('SIGTERM'), 200);
      const force = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(again);
      clearTimeout(force);
    },
  };
}

/** Counts newline bytes in chunks, so a log of a million decisions is never held whole. */
function countLines(file: string): { bytes: number; lines: number } {
  const descriptor = openSync(file, 'r');
  const chunk = Buffer.allocUnsafe(1 << 20);
  let lines = 0;
  try {
    for (let read = readSync(descriptor, chunk); read > 0; read = readSync(descriptor, chunk)) {
      for (let index = chunk.indexOf(10); index >= 0 && index < read; ) {
        lines++;
        index = chunk.indexOf(10, index + 1);
      }
    }
  } finally {
    closeSync(descriptor);
  }
  return { bytes: statSync(file).size, lines };
}

type ServingOutcome = 'serving' | 'timed out' | `exited with code ${string}`;

async function waitForServing(
  target: DriverTarget,
  deadlineMs: number,
  exited: Promise<number | null>,
): Promise<ServingOutcome> {
  let exitCode: number | null | undefined;
  void exited.then((code) => {
    exitCode = code;
  });
  while (performance.now() < deadlineMs) {
    if (exitCode !== undefined) return `exited with code ${String(exitCode)}`;
    if (await askHealth(target)) return 'serving';
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return 'timed out';
}

/** One grpc.health.v1 Check over a fresh HTTP/2 connection: true when it answers SERVING. */
function askHealth(target: DriverTarget): Promise<boolean> {
  return new Promise((resolve) => {
    const session =
      target.kind === 'tcp'
        ? connect(`http://${target.host}:${target.port}`)
        : connect('http://localhost', { createConnection: () => connectSocket(target.path) });
    const finish = (serving: boolean) => {
      session.destroy();
      resolve(serving);
    };
    session.on('error', () => finish(false));
    const stream = session.request(
      {
        [http2.HTTP2_HEADER_METHOD]: 'POST',
        [http2.HTTP2_HEADER_PATH]: HEALTH_CHECK_PATH,
        [http2.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
        [http2.HTTP2_HEADER_TE]: 'trailers',
      },
      { endStream: false },
    );
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', () => finish(false));
    stream.on('close', () => finish(Buffer.concat(chunks).equals(SERVING_RESPONSE)));
    stream.end(EMPTY_HEALTH_REQUEST);
  });
}
