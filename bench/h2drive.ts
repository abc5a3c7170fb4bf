/**
 * h2drive, the load driver in C (bench/h2drive.c, on libnghttp2): what bench/driver.ts does, at a
 * fraction of its CPU per request, so loads h2load cannot send (rotating requests, unix sockets)
 * can still push a server past what it answers. The bench builds it when it starts and uses it
 * in place of the node driver; without a C compiler or libnghttp2-dev it says so and the node
 * driver stays. It takes DriverOptions as flags (made here) and prints one DriverResult as JSON.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DriverOptions } from './driver.js';

export interface H2drive {
  readonly binary: string;
  /** Its `--version` line, with the libnghttp2 version it runs on. */
  readonly version: string;
}

/**
 * Compiles `h2drive.c` into `outDir` when the source is newer than the binary. Returns undefined,
 * having said why on stderr, when it cannot be built.
 */
export function buildH2drive(benchDir: string, outDir: string): H2drive | undefined {
  const source = join(benchDir, 'h2drive.c');
  const binary = join(outDir, 'h2drive');
  try {
    if (!existsSync(binary) || statSync(source).mtimeMs > statSync(binary).mtimeMs) {
      mkdirSync(outDir, { recursive: true });
      execFileSync('cc', ['-O2', '-Wall', '-o', binary, source, '-lnghttp2'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
    }
    return { binary, version: execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim() };
  } catch (error) {
    process.stderr.write(
      `h2drive not built: ${describeBuildFailure(error)}\n` +
        'Install a C compiler and libnghttp2 with `apt-get install gcc libnghttp2-dev` for it.\n' +
        'Continuing with the node driver where requests rotate or the listener is a unix socket.\n',
    );
    return undefined;
  }
}

function describeBuildFailure(error: unknown): string {
  const { code, stderr } = error as { code?: string; stderr?: Buffer };
  if (code === 'ENOENT') return 'no C compiler (`cc`) found';
  const output = stderr?.toString() ?? String(error);
  if (/nghttp2\.h|-lnghttp2/.test(output)) {
    return 'libnghttp2-dev (nghttp2/nghttp2.h, -lnghttp2) is missing';
  }
  return `cc failed:\n${output.trim().split('\n').slice(-10).join('\n')}`;
}

/** The flags that ask h2drive for the run `options` describe (see the usage in h2drive.c). */
export function h2driveArgs(options: DriverOptions): string[] {
  const { target, load, expect } = options;
  return [
    ...(target.kind === 'tcp'
      ? ['--tcp', `${target.host}:${target.port}`]
      : ['--unix', target.path]),
    ...['--frames', options.framesFile],
    ...['--repeat', String(options.repeatEachFrame ?? 1)],
    ...['--connections', String(options.connections)],
    ...(load.mode === 'closed'
      ? ['--closed', String(load.streamsPerConnection)]
      : ['--open', String(load.rateRps), '--max-in-flight', String(load.maxInFlight)]),
    ...['--warmup-ms', String(options.warmupMs)],
    ...['--duration-ms', String(options.durationMs)],
    ...(options.totalRequests === undefined ? [] : ['--total', String(options.totalRequests)]),
    ...(options.drainMs === undefined ? [] : ['--drain-ms', String(options.drainMs)]),
    '--expect',
    expect.allow ? 'allow' : expect.code === undefined ? 'deny' : `deny:${expect.code}`,
  ];
}
