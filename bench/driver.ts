/**
 * A load driver, run as its own process so it never shares an event loop with the server it
 * measures: `node driver.js '<DriverOptions as JSON>'` prints one DriverResult as JSON.
 *
 * It speaks HTTP/2 with node:http2 (not grpc-js, whose client would cost more than the servers
 * it measures) and sends pre-encoded gRPC frames, rotating through a file of them. Two modes:
 * - closed loop: a fixed number of streams, each sending its next request when the last one
 *   answered, to find saturation throughput;
 * - open loop: requests sent at a fixed offered rate whatever the answers do (up to 1,024 in
 *   flight); a request held back because that many are pending counts its latency from when it
 *   was due, so a server falling behind is charged for the queue it causes (no coordinated
 *   omission).
 * Every answer is checked: HTTP 200, grpc-status 0, one CheckResponse whose decision is the
 * expected one. A benchmark that measured denials as if they were allows would be worthless.
 */
import { readFileSync } from 'node:fs';
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect,
  constants as http2,
} from 'node:http2';
import { connect as connectSocket } from 'node:net';
import { pathToFileURL } from 'node:url';
import { CHECK_PATH, readCheckVerdict, splitGrpcFrames } from './grpc-frame.js';
import { LatencyRecorder, type LatencySummary } from './latency-stats.js';

export type DriverTarget =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string };

/** The decision every response must carry: allow (status OK with ok_response) or deny. */
export interface ExpectedVerdict {
  readonly allow: boolean;
  /** When set, the exact google.rpc.Code of a denial (7 permission denied, 16 unauthenticated). */
  readonly code?: number;
}

export interface DriverOptions {
  readonly target: DriverTarget;
  /** A file of concatenated gRPC frames, used in turn. */
  readonly framesFile: string;
  /** Each frame is sent this many times in a row before the next one (default 1). */
  readonly repeatEachFrame?: number;
  readonly connections: number;
  readonly load:
    | { readonly mode: 'closed'; readonly streamsPerConnection: number }
    | { readonly mode: 'open'; readonly rateRps: number; readonly maxInFlight: number };
  /** Sent but not measured, before the measurement window. */
  readonly warmupMs: number;
  /** The measurement window; or set `totalRequests` to send exactly that many and stop. */
  readonly durationMs: number;
  readonly totalRequests?: number;
  readonly expect: ExpectedVerdict;
  /** How long to wait for answers after the window closes (default 3000). */
  readonly drainMs?: number;
}

export interface DriverResult {
  readonly mode: 'closed' | 'open';
  readonly offeredRps: number | undefined;
  /** Answers completed inside the measurement window, per second. */
  readonly throughputRps: number;
  readonly latency: LatencySummary;
  readonly sent: number;
  readonly answered: number;
  /** Requests still unanswered when the driver gave up; those of the window count in latency. */
  readonly unanswered: number;
  readonly errors: number;
  readonly errorExamples: string[];
  /** Response frame sizes seen, and how often: lets an h2load run be checked against them. */
  readonly responseFrameBytes: Record<string, number>;
  /** How late the driver sent open-loop requests against their schedule, p99, in ms. */
  readonly scheduleLagP99Ms: number | undefined;
  /** The driver's own CPU use during the window, in cores (1 = one core fully busy). */
  readonly driverCpuCores: number;
  /** The driver process's CPU time from its start to its result, in ms. */
  readonly driverCpuTotalMs: number;
  readonly windowMs: number;
}

const REQUEST_HEADERS = {
  [http2.HTTP2_HEADER_METHOD]: 'POST',
  [http2.HTTP2_HEADER_PATH]: CHECK_PATH,
  [http2.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
  [http2.HTTP2_HEADER_TE]: 'trailers',
};

class Driver {
  readonly #frames: Buffer[];
  readonly #repeat: number;
  readonly #sessions: ClientHttp2Session[] = [];
  readonly #latencies = new LatencyRecorder();
  readonly #scheduleLags = new LatencyRecorder();
  readonly #frameBytes = new Map<number, number>();
  readonly #errorExamples: string[] = [];
  #next = 0;
  #sent = 0;
  #answered = 0;
  #answeredInWindow = 0;
  #errors = 0;
  #inFlight = 0;
  #closing = false;
  #abandoned = 0;
  windowStartMs = Number.POSITIVE_INFINITY;
  windowEndMs = Number.POSITIVE_INFINITY;

  constructor(readonly options: DriverOptions) {
    this.#frames = splitGrpcFrames(readFileSync(options.framesFile));
    if (this.#frames.length === 0) throw new Error(`${options.framesFile} holds no frame`);
    this.#repeat = options.repeatEachFrame ?? 1;
  }

  async connect(): Promise<void> {
    const { target, connections } = this.options;
    for (let index = 0; index < connections; index++) {
      const session =
        target.kind === 'tcp'
          ? connect(`http://${target.host}:${target.port}`)
          : connect('http://localhost', { createConnection: () => connectSocket(target.path) });
      session.on('error', (error) => this.#fail(`session: ${error.message}`));
      await new Promise<void>((resolve, reject) => {
        session.once('connect', () => resolve());
        session.once('error', reject);
      });
      this.#sessions.push(session);
    }
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get sent(): number {
    return this.#sent;
  }

  /**
   * Sends the next frame. `scheduledMs` is when it was due (it decides whether the request is in
   * the measurement window); latency counts from `originMs`.
   */
  send(scheduledMs: number, originMs: number, onAnswer?: () => void): void {
    const frame = this.#frames[Math.floor(this.#next / this.#repeat) % this.#frames.length];
    this.#next++;
    const session = this.#sessions[this.#sent % this.#sessions.length] as ClientHttp2Session;
    this.#sent++;
    this.#inFlight++;
    const measured = scheduledMs >= this.windowStartMs && scheduledMs < this.windowEndMs;
    if (measured && this.options.load.mode === 'open') {
      this.#scheduleLags.record(performance.now() - scheduledMs);
    }

    let stream: ClientHttp2Stream;
    try {
      stream = session.request(REQUEST_HEADERS, { endStream: false });
    } catch (error) {
      this.#inFlight--;
      this.#fail(`request: ${(error as Error).message}`);
      onAnswer?.();
      return;
    }
    const chunks: Buffer[] = [];
    let httpStatus: unknown;
    let grpcStatus: unknown;
    stream.on('response', (headers) => {
      httpStatus = headers[http2.HTTP2_HEADER_STATUS];
      grpcStatus = headers['grpc-status'];
    });
    stream.on('trailers', (trailers) => {
      grpcStatus = trailers['grpc-status'] ?? grpcStatus;
    });
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', () => {});
    stream.on('close', () => {
      const doneMs = performance.now();
      this.#inFlight--;
      if (measured) this.#latencies.record(doneMs - originMs);
      if (this.#closing) {
        // Abandoned after the drain: its latency (so far) is a lower bound, not a verdict.
        this.#abandoned++;
        return;
      }
      this.#answered++;
      const problem = this.#check(stream, httpStatus, grpcStatus, chunks);
      if (problem !== undefined) this.#fail(problem);
      if (doneMs >= this.windowStartMs && doneMs < this.windowEndMs) this.#answeredInWindow++;
      onAnswer?.();
    });
    stream.end(frame);
  }

  #check(
    stream: ClientHttp2Stream,
    httpStatus: unknown,
    grpcStatus: unknown,
    chunks: Buffer[],
  ): string | undefined {
    if (stream.rstCode !== undefined && stream.rstCode !== http2.NGHTTP2_NO_ERROR) {
      return `stream reset with HTTP/2 code ${stream.rstCode}`;
    }
    if (httpStatus !== 200) return `HTTP status ${String(httpStatus)}`;
    if (grpcStatus !== '0') return `grpc-status ${String(grpcStatus)}`;

    const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
    this.#frameBytes.set(body.length, (this.#frameBytes.get(body.length) ?? 0) + 1);
    const verdict = readCheckVerdict(body);
    if (verdict === undefined) return 'response is not one CheckResponse frame';

    const { expect } = this.options;
    const allowed = verdict.code === 0 && verdict.httpResponse === 'ok_response';
    if (expect.allow && !allowed) {
      return `expected allow, got status.code ${verdict.code} with ${verdict.httpResponse}`;
    }
    if (!expect.allow) {
      if (verdict.code === 0 || verdict.httpResponse !== 'denied_response') {
        return `expected deny, got status.code ${verdict.code} with ${verdict.httpResponse}`;
      }
      if (expect.code !== undefined && verdict.code !== expect.code) {
        return `expected status.code ${expect.code}, got ${verdict.code}`;
      }
    }
    return undefined;
  }

  #fail(problem: string): void {
    this.#errors++;
    if (this.#errorExamples.length < 5 && !this.#errorExamples.includes(problem)) {
      this.#errorExamples.push(problem);
    }
  }

  /**
   * Gives up on what is still unanswered: in-flight streams are cancelled and requests never
   * sent are recorded with the latency they had reached, a lower bound that keeps an overloaded
   * server's percentiles honest.
   */
  abandon(unsent: number[]): void {
    this.#closing = true;
    const nowMs = performance.now();
    for (const scheduledMs of unsent) this.#latencies.record(nowMs - scheduledMs);
    this.#abandoned += unsent.length;
    for (const session of this.#sessions) session.destroy();
  }

  result(extra: Pick<DriverResult, 'driverCpuCores' | 'windowMs' | 'offeredRps'>): DriverResult {
    return {
      unanswered: this.#abandoned,
      mode: this.options.load.mode,
      throughputRps: (this.#answeredInWindow / extra.windowMs) * 1000,
      latency: this.#latencies.summarize(),
      sent: this.#sent,
      answered: this.#answered,
      errors: this.#errors,
      errorExamples: this.#errorExamples,
      responseFrameBytes: Object.fromEntries(this.#frameBytes),
      scheduleLagP99Ms:
        this.options.load.mode === 'open' ? this.#scheduleLags.summarize().p99Ms : undefined,
      driverCpuTotalMs: cpuMs(process.cpuUsage()),
      ...extra,
    };
  }

  close(): void {
    for (const session of this.#sessions) session.destroy();
  }
}

async function runClosedLoop(driver: Driver, streams: number): Promise<DriverResult> {
  const { options } = driver;
  const startMs = performance.now();
  // With totalRequests the whole run is the window, closed when the last answer arrives.
  const counted = options.totalRequests !== undefined;
  driver.windowStartMs = counted ? startMs : startMs + options.warmupMs;
  driver.windowEndMs = counted
    ? Number.POSITIVE_INFINITY
    : driver.windowStartMs + options.durationMs;
  const total = options.totalRequests ?? Number.POSITIVE_INFINITY;
  let cpuAtWindowStart = process.cpuUsage();
  let cpuStarted = counted;

  await new Promise<void>((resolve) => {
    const sendNext = () => {
      const nowMs = performance.now();
      if (!cpuStarted && nowMs >= driver.windowStartMs) {
        cpuStarted = true;
        cpuAtWindowStart = process.cpuUsage();
      }
      const over = nowMs >= driver.windowEndMs;
      if (over || driver.sent >= total) {
        if (driver.inFlight === 0) resolve();
        return;
      }
      driver.send(nowMs, nowMs, sendNext);
    };
    for (let index = 0; index < streams; index++) sendNext();
  });

  const endMs = performance.now();
  if (counted) driver.windowEndMs = endMs;
  const windowMs = Math.min(endMs, driver.windowEndMs) - driver.windowStartMs;
  return driver.result({
    offeredRps: undefined,
    driverCpuCores: cpuCores(process.cpuUsage(cpuAtWindowStart), windowMs),
    windowMs,
  });
}

async function runOpenLoop(
  driver: Driver,
  rateRps: number,
  maxInFlight: number,
): Promise<DriverResult> {
  const { options } = driver;
  const intervalMs = 1000 / rateRps;
  const startMs = performance.now() + 5;
  driver.windowStartMs = startMs + options.warmupMs;
  driver.windowEndMs = driver.windowStartMs + options.durationMs;
  const drainMs = options.drainMs ?? 3000;
  let index = 0;
  let cpuAtWindowStart: NodeJS.CpuUsage | undefined;
  // Requests due but held back by maxInFlight, by scheduled time: that wait is the server's
  // doing, so their latency counts from the schedule.
  const backlog: number[] = [];
  let backlogHead = 0;

  await new Promise<void>((resolve) => {
    const release = () => {
      while (backlogHead < backlog.length && driver.inFlight < maxInFlight) {
        const scheduledMs = backlog[backlogHead++] as number;
        driver.send(scheduledMs, scheduledMs, release);
      }
    };
    // Every timer tick (about 1 ms) sends the requests that fell due since the last one. The
    // driver sleeps in between rather than spinning, so on a shared core it is woken promptly
    // instead of being time-sliced. Its own timer lateness is not the server's: latency of a
    // request sent at once counts from when it left; the lateness is reported as schedule lag.
    const pump = () => {
      const nowMs = performance.now();
      if (cpuAtWindowStart === undefined && nowMs >= driver.windowStartMs) {
        cpuAtWindowStart = process.cpuUsage();
      }
      for (;;) {
        const scheduledMs = startMs + index * intervalMs;
        if (scheduledMs > nowMs || scheduledMs >= driver.windowEndMs) break;
        index++;
        if (driver.inFlight < maxInFlight && backlogHead === backlog.length) {
          driver.send(scheduledMs, performance.now(), release);
        } else {
          backlog.push(scheduledMs);
        }
      }
      if (startMs + index * intervalMs >= driver.windowEndMs) {
        resolve();
        return;
      }
      setTimeout(pump, Math.max(0, startMs + index * intervalMs - performance.now()));
    };
    pump();
  });

  const cpu = process.cpuUsage(cpuAtWindowStart);
  const deadlineMs = performance.now() + drainMs;
  while ((driver.inFlight > 0 || backlogHead < backlog.length) && performance.now() < deadlineMs) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  driver.abandon(backlog.slice(backlogHead).filter((ms) => ms >= driver.windowStartMs));
  await new Promise((resolve) => setImmediate(resolve));
  return driver.result({
    offeredRps: rateRps,
    driverCpuCores: cpuCores(cpu, options.durationMs),
    windowMs: options.durationMs,
  });
}

function cpuCores(usage: NodeJS.CpuUsage, windowMs: number): number {
  return cpuMs(usage) / windowMs;
}

function cpuMs(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1000;
}

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '') as DriverOptions;
  const driver = new Driver(options);
  await driver.connect();
  const result =
    options.load.mode === 'closed'
      ? await runClosedLoop(driver, options.connections * options.load.streamsPerConnection)
      : await runOpenLoop(driver, options.load.rateRps, options.load.maxInFlight);
  driver.close();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// Only as a process entry point: other bench files import this module's types.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
