/**
 * One measurement: one load (saturation or a fixed offered rate) from one driver against one
 * running server, with the CPU the server used and the CPU anything else took on the server's
 * core meanwhile (other people's processes on a shared machine show up there, and make a run
 * suspect rather than silently slower).
 */
import { spawn } from 'node:child_process';
import type { DriverOptions, DriverResult, ExpectedVerdict } from './driver.js';
import { h2driveArgs } from './h2drive.js';
import { runH2load } from './h2load.js';
import type { LatencySummary } from './latency-stats.js';
import { readBusyMs } from './machine-load.js';
import type { RunningServer } from './server-process.js';

/**
 * h2load posts one repeated frame over TCP; h2drive (C) and the node driver send frames from a
 * file and check every answer. h2drive replaces the node driver wherever it could be built.
 */
export type LoadDriver = 'h2load' | FramesDriver;
export type FramesDriver = 'h2drive' | 'node';

/** Where the frames drivers are: bench/driver.ts (transpiled), and h2drive when it was built. */
export interface FramesDriverPrograms {
  readonly nodeScript: string;
  readonly h2drive: string | undefined;
}

export interface Measurement {
  readonly driver: LoadDriver;
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
  | { readonly kind: 'saturation'; readonly driver: LoadDriver }
  | { readonly kind: 'rate'; readonly driver: LoadDriver; readonly rateRps: number };

export interface MeasureOptions {
  readonly server: RunningServer;
  /** Every server process pinned to the server CPU, so their own CPU is not counted as other. */
  readonly coResidents: readonly RunningServer[];
  readonly placement: Placement;
  readonly programs: FramesDriverPrograms;
  readonly framesFile: string;
  readonly singleFrameFile: string;
  readonly responseFrameBytes: number;
  readonly expect: ExpectedVerdict;
  readonly load: Load;
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
  readonly h2loadLogFile: string;
}

/** Closed-loop shape of every saturation run, whichever the driver. */
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

  const result = await runFramesDriver(load.driver, options.programs, options.placement.driverCpu, {
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
    driver: load.driver,
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

/** Runs a frames driver in its own process (pinned to the driver CPU) and reads its result. */
export function runFramesDriver(
  driver: FramesDriver,
  programs: FramesDriverPrograms,
  cpu: number | undefined,
  options: DriverOptions,
): Promise<DriverResult> {
  if (driver === 'h2drive' && programs.h2drive === undefined) {
    throw new Error('h2drive was not built, it cannot drive this load');
  }
  const command =
    driver === 'h2drive'
      ? [programs.h2drive as string, ...h2driveArgs(options)]
      : [process.execPath, programs.nodeScript, JSON.stringify(options)];
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
        reject(
          new Error(`${driver} driver exited with code ${String(code)}:\n${stderr.slice(-2000)}`),
        );
        return;
      }
      resolve(JSON.parse(stdout) as DriverResult);
    });
  });
}
