import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bodyOf, deniedStatus } from '../support/envoy-client.js';
import { signForeignToken } from '../support/identity-provider.js';
import { startTollgate, type TollgateInstance } from '../support/tollgate-instance.js';

/**
 * Providers whose key endpoints fail: one answers 500, one never answers. These are real HTTP
 * servers misbehaving, not mocks.
 */
describe('Check while provider keys are unavailable', () => {
  let broken: Server;
  let silent: Server;
  let tollgate: TollgateInstance;
  let startedAtMs: number;
  let servingAfterMs: number;

  beforeAll(async () => {
    broken = await listen((_request, response) => {
      response.writeHead(500).end();
    });
    silent = await listen(() => {
      // Never answers: the request stays open until tollgate's fetch times out.
    });
    startedAtMs = Date.now();
    tollgate = await startTollgate(`
startup: { keyWaitMs: 300 }
providers:
  - name: broken
    issuer: https://broken.example
    audiences: [orders-api]
    jwks: { uri: ${urlOf(broken)}/jwks, timeoutMs: 2000 }
  - name: silent
    issuer: https://silent.example
    audiences: [orders-api]
    jwks: { uri: ${urlOf(silent)}/jwks, timeoutMs: 5000 }
    credentials: [{ header: x-silent-token }]
rules:
  - name: broken-route
    match: { paths: [/broken] }
    action: allow
    require: { providers: [broken] }
  - name: silent-route
    match: { paths: [/silent] }
    action: allow
    require: { providers: [silent] }
`);
    servingAfterMs = Date.now() - startedAtMs;
  });

  afterAll(async () => {
    await tollgate?.stop();
    silent?.closeAllConnections();
    await Promise.all([close(broken), close(silent)]);
  });

  const tokenFor = (issuer: string) => {
    const now = Math.floor(Date.now() / 1000);
    return signForeignToken({
      iss: issuer,
      aud: 'orders-api',
      sub: 'alice',
      iat: now,
      exp: now + 300,
    });
  };

  it('reports SERVING after the bounded start-up wait even though keys are missing', async () => {
    expect(servingAfterMs).toBeLessThan(3000);
    await expect(tollgate.client.health()).resolves.toEqual({ status: 'SERVING' });
  });

  it('answers 503 provider_unavailable when the key set cannot be fetched', async () => {
    const token = await tokenFor('https://broken.example');

    const response = await tollgate.client.check({
      path: '/broken',
      headers: { authorization: `Bearer ${token}` },
    });

    expect(deniedStatus(response)).toBe(503);
    expect(bodyOf(response).error).toBe('provider_unavailable');
    expect(response.status.code).toBe(14);
  });

  it("answers 503 deadline_exceeded before Envoy's deadline when a key fetch hangs", async () => {
    const token = await tokenFor('https://silent.example');
    const sentAtMs = Date.now();

    const response = await tollgate.client.check(
      { path: '/silent', headers: { 'x-silent-token': token } },
      { deadlineMs: 200 },
    );

    expect(Date.now() - sentAtMs).toBeLessThan(200);
    expect(deniedStatus(response)).toBe(503);
    expect(bodyOf(response).error).toBe('deadline_exceeded');
  });

  it('logs the failing provider once, at error level', () => {
    const lines = tollgate.logs.filter(
      (line) => line.msg === 'provider keys could not be loaded; its tokens are answered 503',
    );
    expect(lines.map((line) => line.provider)).toEqual(['broken']);
    expect(lines[0]?.level).toBe('error');
  });
});

function listen(handler: Parameters<typeof createServer>[1]): Promise<Server> {
  const server = createServer(handler as never);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function urlOf(server: Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function close(server: Server | undefined): Promise<void> {
  return new Promise((resolve) =>
    server === undefined ? resolve() : server.close(() => resolve()),
  );
}
