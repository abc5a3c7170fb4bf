import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bodyOf, EnvoyClient } from '../support/envoy-client.js';
import { signForeignToken } from '../support/identity-provider.js';

const ROOT = new URL('../..', import.meta.url).pathname;

/** Runs the real CLI in a child process, as Kubernetes would, and stops it with SIGTERM. */
describe('tollgate serve under SIGTERM', () => {
  let child: ChildProcess | undefined;
  let jwks: Server | undefined;

  afterAll(async () => {
    child?.kill('SIGKILL');
    jwks?.closeAllConnections();
    await new Promise<void>((resolve) =>
      jwks === undefined ? resolve() : jwks.close(() => resolve()),
    );
  });

  it('reports NOT_SERVING, keeps answering while draining, finishes in-flight Checks, exits 0', async () => {
    let requests = 0;
    jwks = createServer((_request, response) => {
      requests += 1;
      // The first fetch (at start) answers at once; later ones take 800 ms, long enough for
      // SIGTERM to arrive while a Check waits on them.
      setTimeout(() => response.end(JSON.stringify({ keys: [] })), requests === 1 ? 0 : 800);
    });
    await new Promise<void>((resolve) => jwks?.listen(0, '127.0.0.1', resolve));
    const jwksUri = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks`;

    const dir = mkdtempSync(join(tmpdir(), 'tollgate-shutdown-'));
    const socket = join(dir, 'tollgate.sock');
    const configFile = join(dir, 'tollgate.yaml');
    writeFileSync(
      configFile,
      `listen: { grpc: "unix:${socket}" }
shutdown: { drainMs: 400 }
providers:
  - { name: corp, issuer: https://corp.example, audiences: [orders-api], jwks: { uri: "${jwksUri}", cooldownSeconds: 0 } }
rules:
  - { name: orders, match: { paths: [/orders] }, action: allow, require: { providers: [corp] } }
`,
    );

    child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--config', configFile],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const output: string[] = [];
    child.stdout?.on('data', (chunk) => output.push(String(chunk)));
    child.stderr?.on('data', (chunk) => output.push(String(chunk)));
    const exited = once(child, 'exit');

    const client = new EnvoyClient(`unix:${socket}`);
    await waitForServing(client);
    const watch = client.watch();

    const now = Math.floor(Date.now() / 1000);
    const token = await signForeignToken({
      iss: 'https://corp.example',
      aud: 'orders-api',
      iat: now,
      exp: now + 60,
    });
    const inFlight = client.check({
      path: '/orders',
      headers: { authorization: `Bearer ${token}` },
    });
    await new Promise((resolve) => setTimeout(resolve, 150));
    child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const duringDrain = await client.check({ path: '/elsewhere' });

    const response = await inFlight;
    const [code] = await exited;
    await watch.ended;
    client.close();

    expect(bodyOf(response).error).toBe('token_key_unknown');
    expect(bodyOf(duringDrain).error).toBe('default_denied');
    expect(watch.statuses).toEqual(['SERVING', 'NOT_SERVING']);
    expect(code).toBe(0);
    expect(output.join('')).toContain('draining');
    expect(output.join('')).toContain('shutting down');
  });

  it('stops cleanly with exit 0 when SIGTERM arrives during start-up', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentUri = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/jwks`;
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-early-'));
    const socket = join(dir, 's.sock');
    const configFile = join(dir, 'tollgate.yaml');
    writeFileSync(
      configFile,
      `listen: { grpc: "unix:${socket}" }
startup: { keyWaitMs: 10000 }
shutdown: { drainMs: 0 }
providers:
  - { name: corp, issuer: https://corp.example, audiences: [a], jwks: { uri: "${silentUri}", timeoutMs: 10000 } }
`,
    );
    const early = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--config', configFile],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exited = once(early, 'exit');
    // The socket exists once the server is bound; the key fetch then hangs, holding start-up.
    const client = new EnvoyClient(`unix:${socket}`);
    for (let tries = 0; !existsSync(socket) && tries < 300; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await client.health()).toEqual({ status: 'NOT_SERVING' });
    early.kill('SIGTERM');

    const [code, signal] = await exited;
    client.close();
    silent.closeAllConnections();
    silent.close();

    expect({ code, signal }).toEqual({ code: 0, signal: null });
  });
});

async function waitForServing(client: EnvoyClient): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    try {
      if ((await client.health()).status === 'SERVING') return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('tollgate did not report SERVING within 15 s');
}
