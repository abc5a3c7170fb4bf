// Writes V8's code cache for the bundle, dist/bundle/tollgate.code-cache: starts the built
// tollgate once on the example configuration, as `npm start` does, lets it reach SERVING and
// stop, and dist/cli/launch.js saves what V8 compiled on the way. V8 takes a cache only under
// the flags it was written with, and this script passes its own on: for a tollgate started
// with flags, write the cache with the same ones (`node <flags> scripts/write-code-cache.mjs`,
// as the Dockerfile does).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, rmSync } from 'node:fs';

const CODE_CACHE = 'dist/bundle/tollgate.code-cache';
const TIMEOUT_MS = 30_000;

rmSync(CODE_CACHE, { force: true });
const args = ['serve', '--config', 'examples/tollgate.yaml', '--listen', '127.0.0.1:0'];
const child = spawn(process.execPath, [...process.execArgv, 'dist/cli/launch.js', ...args], {
  env: { ...process.env, TOLLGATE_WRITE_CODE_CACHE: '1' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const timeout = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);

// The first signal after "serving" starts the drain, the second ends it at once.
let log = '';
child.stdout.setEncoding('utf8');
child.stdout.on('data', (chunk) => {
  const before = log;
  log += chunk;
  for (const message of ['"msg":"serving"', '"msg":"draining']) {
    if (!before.includes(message) && log.includes(message)) child.kill('SIGTERM');
  }
});

const [code, signal] = await once(child, 'exit');
clearTimeout(timeout);
if (code !== 0 || !existsSync(CODE_CACHE)) {
  process.stderr.write(`${log}tollgate did not start and stop cleanly (${code ?? signal}): `);
  process.stderr.write(`no code cache written\n`);
  process.exitCode = 1;
}
