/**
 * One measurement: one load (saturation or a fixed offered rate) from one driver against one
 * running server, with the CPU the server used and the CPU anything else took on the server's
 * core meanwhile (other people's processes on a shared machine show up there, and make a run
 * suspect rather than silently slower).
 */
import { spawn } from 'node:child_process';
import type { DriverOptions, DriverResult, ExpectedVerdict } from './driver.js';
import { runH2load } from './h2load.js';
import type { LatencySummary } from './latency-stats.js';
import { readBusyMs } from './machine-load.js';
import type { RunningServer } from './server-process.js';

export interface Measurement {
  readonly driver: 'h2load' | 'node';
  /** The rate the driver tried to hold (open loop); undefined at saturation. */
  readonly offeredRps: number | undefined;
  readonly throughputRps: number;
  readonly latency: LatencySummary;
  readonly errors: number;
  readonly errorExamples: string[];
  /** Requests of the window never answered (open loop); their latency is a lower bound. */
  readonly unanswered: number;
  /** CPU the server used during the run, in cores. */
  readonly serverCpuCores: number;
  /** CPU used on the server's core by everything but the servers under test, in cores. */
  readonly otherCpuOnServerCore: number | undefined;
  /** CPU used on the driver's core by everything but the driver, in cores. */
  readonly otherCpuOnDriverCore: number | undefined;
  readonly driverCpuCores: number | undefined;
  /** How late the open-loop driver sent requests against their schedule, p99, in ms. */
  readonly scheduleLagP99Ms: number | undefined;
}

export interface Placement {
  /** The CPU the servers are pinned to, and the one the drivers are pinned to. */
  readonly serverCpu: number | undefined;
  readonly driverCpu: number | undefined;
}

export type Load =
  | { readonly kind: 'saturation'; readonly driver: 'h2load' | 'node' }
  | { readonly kind: 'rate'; readonly driver: 'h2load' | 'node'; readonly rateRps: number };

export interface MeasureOptions {
  readonly server: RunningServer;
  /** Every server process pinned to the server CPU, so their own CPU is not counted as other. */
  readonly coResidents: readonly RunningServer[];
  readonly placement: Placement;
  readonly driverScript: string;
  readonly framesFile: string;
  readonly singleFrameFile: string;
  readonly responseFrameBytes: number;
  readonly expect: ExpectedVerdict;
  readonly load: Load;
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
  readonly h2loadLogFile: string;
}

/** Closed-loop shape of every saturation run, h2load's or the node driver's. */
const CONNECTIONS = 4;
const STREAMS_PER_CONNECTION = 16;

export async function measure(options: MeasureOptions): Promise<Measurement> {
  const { server, placement } = options;
  const cpuBefore = server.cpuTimeMs();
  const residentsBefore = options.coResidents.map((resident) => resident.cpuTimeMs());
  const serverCoreBefore = readCore(placement.serverCpu);
  const driverCoreBefore = readCore(placement.driverCpu);
  const started = performance.now();

  const { driverCpuTotalMs, ...result } = await drive(options);

  const elapsedMs = performance.now() - started;
  const serverCpuMs = server.cpuTimeMs() - cpuBefore;
  const residentsCpuMs = options.coResidents.reduce(
    (sum, resident, index) => sum + resident.cpuTimeMs() - (residentsBefore[index] as number),
    0,
  );
  const other = (before: number | undefined, after: number | undefined, oursMs: number) =>
    before === undefined || after === undefined || !Number.isFinite(oursMs)
      ? undefined
      : Math.max(0, after - before - oursMs) / elapsedMs;
  return {
    ...result,
    serverCpuCores: serverCpuMs / elapsedMs,
    otherCpuOnServerCore: other(serverCoreBefore, readCore(placement.serverCpu), residentsCpuMs),
    otherCpuOnDriverCore: other(driverCoreBefore, readCore(placement.driverCpu), driverCpuTotalMs),
  };
}

function readCore(cpu: number | undefined): number | undefined {
  return cpu === undefined ? undefined : readBusyMs(cpu);
}

type DriveResult = Omit<
  Measurement,
  'serverCpuCores' | 'otherCpuOnServerCore' | 'otherCpuOnDriverCore'
> & { readonly driverCpuTotalMs: number };

async function drive(options: MeasureOptions): Promise<DriveResult> {
  const { load, server } = options;
  if (load.driver === 'h2load') {
    if (server.spec.target.kind !== 'tcp') throw new Error('h2load drives TCP listeners only');
    const { cpuTotalMs, ...result } = await runH2load({
      host: server.spec.target.host,
      port: server.spec.target.port,
      frameFile: options.singleFrameFile,
      connections: CONNECTIONS,
      ...(load.kind === 'saturation'
        ? { streamsPerConnection: STREAMS_PER_CONNECTION }
        : { streamsPerConnection: 64, rpsPerConnection: load.rateRps / CONNECTIONS }),
      warmupSeconds: options.warmupSeconds,
      durationSeconds: options.durationSeconds,
      cpu: options.placement.driverCpu,
      logFile: options.h2loadLogFile,
      expectedResponseFrameBytes: options.responseFrameBytes,
    });
    return {
      driver: 'h2load',
      offeredRps: load.kind === 'rate' ? load.rateRps : undefined,
      ...result,
      unanswered: 0,
      driverCpuCores: undefined,
      driverCpuTotalMs: cpuTotalMs,
      scheduleLagP99Ms: undefined,
    };
  }

  const result = await runNodeDriver(options.driverScript, options.placement.driverCpu, {
    target: server.spec.target,
    framesFile: options.framesFile,
    connections: CONNECTIONS,
    load:
      load.kind === 'saturation'
        ? { mode: 'closed', streamsPerConnection: STREAMS_PER_CONNECTION }
        : { mode: 'open', rateRps: load.rateRps, maxInFlight: 1024 },
    warmupMs: options.warmupSeconds * 1000,
    durationMs: options.durationSeconds * 1000,
    expect: options.expect,
  });
  return {
    driver: 'node',
    offeredRps: result.offeredRps,
    throughputRps: result.throughputRps,
    latency: result.latency,
    errors: result.errors,
    errorExamples: result.errorExamples,
    unanswered: result.unanswered,
    driverCpuCores: result.driverCpuCores,
    driverCpuTotalMs: result.driverCpuTotalMs,
    scheduleLagP99Ms: result.scheduleLagP99Ms,
  };
}

/** Runs bench/driver.ts in its own process (pinned to the driver CPU) and reads its result. */
export function runNodeDriver(
  script: string,
  cpu: number | undefined,
  options: DriverOptions,
): Promise<DriverResult> {
  const command = [process.execPath, script, JSON.stringify(options)];
  const child =
    cpu === undefined
      ? spawn(command[0] as string, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('taskset', ['-c', String(cpu), ...command], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) {
        reject(new Error(`load driver exited with code ${String(code)}:\n${stderr.slice(-2000)}`));
        return;
      }
      resolve(JSON.parse(stdout) as DriverResult);
    });
  });
}
