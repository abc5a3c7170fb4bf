/**
 * The scenarios the issue asks for, each a stream of CheckRequests with the decision every one
 * of them must get. All of them run against the same 20-rule configuration (bench/fixtures.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExpectedVerdict } from './driver.js';
import { type BenchAlgorithm, type Fixtures, HOST } from './fixtures.js';
import type { FramesDriver, LoadDriver } from './measure.js';

export interface Scenario {
  readonly name: string;
  readonly description: string;
  readonly transport: 'tcp' | 'unix';
  /**
   * Who drives the loads: h2load where one repeated frame over TCP is the scenario; where
   * requests rotate (cold) or the listener is a unix socket, h2drive, or the node driver when
   * h2drive could not be built.
   */
  readonly driver: LoadDriver;
  /** All frames, used in turn; and the first one alone (for h2load and the probe). */
  readonly framesFile: string;
  readonly singleFrameFile: string;
  readonly firstFrame: Buffer;
  readonly expect: ExpectedVerdict;
  /** What tollgate's dynamic metadata must say for the probe request. */
  readonly decision: { readonly rule: string; readonly reason: string };
  /** Cold scenarios: the signature-only server's token and key (see ceiling-server.ts). */
  readonly signatureFile?: string;
}

export const MEMORY_ALGORITHM: BenchAlgorithm = 'RS256';

/**
 * Cold scenarios rotate through more tokens than the cache holds (at most 10,000, fewer when its
 * 8 MiB fill first): every one misses.
 */
export const COLD_TOKEN_COUNT = 20_000;

export interface ScenarioInputs {
  readonly fixtures: Fixtures;
  readonly encode: (request: unknown) => Buffer;
  readonly dir: string;
  readonly h2loadAvailable: boolean;
  /** The h2drive binary, undefined when it could not be built. */
  readonly h2drive: string | undefined;
}

/** The driver for loads that h2load cannot send: h2drive where it was built. */
export function framesDriverOf(inputs: ScenarioInputs): FramesDriver {
  return inputs.h2drive === undefined ? 'node' : 'h2drive';
}

export async function buildScenarios(inputs: ScenarioInputs): Promise<Scenario[]> {
  const { fixtures } = inputs;
  const [warmToken] = await fixtures.tokens('RS256', 1, 'orders:read');
  const [narrowToken] = await fixtures.tokens('RS256', 1, 'orders:list');
  const framesDriver = framesDriverOf(inputs);
  const oneFrameDriver = inputs.h2loadAvailable ? 'h2load' : framesDriver;
  const allow = { allow: true };
  const readOrders = { rule: 'read-orders', reason: 'allowed' };

  const cold = async (algorithm: BenchAlgorithm): Promise<Scenario> => {
    const tokens = await fixtures.tokens(algorithm, COLD_TOKEN_COUNT, 'orders:read');
    return write(inputs, {
      signatureFile: writeSignatureFile(inputs, algorithm, tokens[0] as string),
      name: `cold-${algorithm.toLowerCase()}`,
      description: `a different valid ${algorithm} token on every request (${COLD_TOKEN_COUNT.toLocaleString('en')} in turn)`,
      transport: 'tcp',
      driver: framesDriver,
      requests: tokens.map((token, index) => ordersRequest(`${algorithm}-${index}`, token)),
      expect: allow,
      decision: readOrders,
    });
  };

  return [
    await write(inputs, {
      name: 'warm',
      description: 'one valid RS256 token repeated; the matching rule is the last of 20',
      transport: 'tcp',
      driver: oneFrameDriver,
      requests: [ordersRequest('warm', warmToken as string)],
      expect: allow,
      decision: readOrders,
    }),
    await cold('RS256'),
    await cold('ES256'),
    await write(inputs, {
      name: 'public',
      description: 'a route that needs no token (18th rule)',
      transport: 'tcp',
      driver: oneFrameDriver,
      requests: [toCheckRequest('public', '/public/status', undefined)],
      expect: allow,
      decision: { rule: 'public', reason: 'allowed' },
    }),
    await write(inputs, {
      name: 'denied',
      description: 'a valid token without the scope the last rule requires: 403',
      transport: 'tcp',
      driver: oneFrameDriver,
      requests: [ordersRequest('denied', narrowToken as string)],
      // google.rpc.Code PERMISSION_DENIED.
      expect: { allow: false, code: 7 },
      decision: { rule: 'read-orders', reason: 'scope_missing' },
    }),
    await write(inputs, {
      name: 'warm-unix',
      description: 'the warm scenario over a unix socket listener',
      transport: 'unix',
      driver: framesDriver,
      requests: [ordersRequest('warm-unix', warmToken as string)],
      expect: allow,
      decision: readOrders,
    }),
  ];
}

/**
 * The requests of the memory run: `count` distinct RS256 tokens, each allowed. RS256 because it
 * verifies about three times faster than ES256, which keeps the run short (minting 100,000 RS256
 * tokens takes over a minute, once; the set is cached).
 */
export async function buildMemoryFrames(
  inputs: ScenarioInputs,
  count: number,
): Promise<{ framesFile: string; expect: ExpectedVerdict }> {
  const tokens = await inputs.fixtures.tokens(MEMORY_ALGORITHM, count, 'orders:read');
  const framesFile = join(inputs.dir, `memory-${count}.bin`);
  writeFileSync(
    framesFile,
    Buffer.concat(
      tokens.map((token, index) => inputs.encode(ordersRequest(`memory-${index}`, token))),
    ),
  );
  return { framesFile, expect: { allow: true } };
}

interface ScenarioDraft extends Omit<Scenario, 'framesFile' | 'singleFrameFile' | 'firstFrame'> {
  readonly requests: unknown[];
}

async function write(inputs: ScenarioInputs, draft: ScenarioDraft): Promise<Scenario> {
  const { requests, ...scenario } = draft;
  const frames = requests.map(inputs.encode);
  const framesFile = join(inputs.dir, `${draft.name}.bin`);
  const singleFrameFile = join(inputs.dir, `${draft.name}-first.bin`);
  writeFileSync(framesFile, Buffer.concat(frames));
  writeFileSync(singleFrameFile, frames[0] as Buffer);
  return { ...scenario, framesFile, singleFrameFile, firstFrame: frames[0] as Buffer };
}

/** What the signature-only server verifies: one token, and the public key that signed it. */
function writeSignatureFile(inputs: ScenarioInputs, alg: BenchAlgorithm, token: string): string {
  const { keys } = JSON.parse(readFileSync(inputs.fixtures.jwksFile, 'utf8')) as {
    keys: { kty: string }[];
  };
  const jwk = keys.find((key) => key.kty === (alg === 'RS256' ? 'RSA' : 'EC'));
  const file = join(inputs.dir, `signature-${alg}.json`);
  writeFileSync(file, `${JSON.stringify({ alg, jwk, token })}\n`);
  return file;
}

function ordersRequest(id: string, token: string): unknown {
  return toCheckRequest(id, '/orders/42?fields=id,total', token);
}

/**
 * A CheckRequest shaped like the ones Envoy's ext_authz filter sends with `encode_raw_headers:
 * true`, as README.md and deploy/envoy/envoy.yaml configure it: the pseudo-headers and a few
 * ordinary headers as `header_map` entries with their values in `raw_value`, source and
 * destination addresses, a request id.
 */
function toCheckRequest(id: string, path: string, token: string | undefined): unknown {
  const headers: Record<string, string> = {
    ':authority': HOST,
    ':method': 'GET',
    ':path': path,
    ':scheme': 'http',
    accept: 'application/json',
    'user-agent': 'bench-client/1.0',
    'x-forwarded-proto': 'http',
    'x-request-id': `bench-${id}`,
  };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  return {
    attributes: {
      source: { address: { socket_address: { address: '10.0.0.7', port_value: 51234 } } },
      destination: { address: { socket_address: { address: '10.0.0.8', port_value: 8080 } } },
      request: {
        time: { seconds: String(Math.floor(Date.now() / 1000)) },
        http: {
          id: `bench-${id}`,
          method: 'GET',
          path,
          host: HOST,
          scheme: 'http',
          protocol: 'HTTP/1.1',
          header_map: {
            headers: Object.entries(headers).map(([key, value]) => ({
              key,
              raw_value: Buffer.from(value, 'latin1'),
            })),
          },
        },
      },
    },
  };
}
