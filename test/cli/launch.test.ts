import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Runs the built executable (npm run build) as `npm start` does, with extra `node` flags. */
function runBuilt(nodeFlags: string[], args: string[]) {
  return spawnSync(process.execPath, [...nodeFlags, 'dist/cli/launch.js', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
  });
}

describe('the built tollgate executable', () => {
  it('runs the bundle from the code cache the build wrote, without a warning', () => {
    const run = runBuilt([], ['validate', 'examples/tollgate.yaml']);

    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('examples/tollgate.yaml: valid (1 providers, 4 rules)\n');
    expect(run.status).toBe(0);
  });

  it('runs without the cache, and says so, under V8 flags the cache was not written with', () => {
    const run = runBuilt(['--max-old-space-size=200'], ['validate', 'examples/tollgate.yaml']);

    expect(run.stderr).toContain('[TOLLGATE_CODE_CACHE] Warning: V8 refused the code cache');
    expect(run.stdout).toBe('examples/tollgate.yaml: valid (1 providers, 4 rules)\n');
    expect(run.status).toBe(0);
  });
});
