#!/usr/bin/env node
/**
 * The `tollgate` executable: `npm start`, the package's bin and the container's ENTRYPOINT run
 * this file. It runs main.ts as the build bundled it, one CommonJS file (scripts/build.mjs),
 * compiled with the V8 code cache the build wrote beside it (scripts/write-code-cache.mjs).
 * With the cache V8 compiles neither the bundle nor the functions start-up calls, about a third
 * of the time from spawn to SERVING. Node 20 can hand a cache to V8 only through node:vm, for a
 * script, not for an ES module: hence the CommonJS bundle.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

const BUNDLE = fileURLToPath(new URL('../bundle/tollgate.cjs', import.meta.url));
const CODE_CACHE = fileURLToPath(new URL('../bundle/tollgate.code-cache', import.meta.url));

/** Set by scripts/write-code-cache.mjs: compile afresh and write the cache when this run ends. */
const writeCodeCache = process.env.TOLLGATE_WRITE_CODE_CACHE === '1';

const run = compileBundle();
const bundleModule = { exports: {} };
run(bundleModule.exports, createRequire(BUNDLE), bundleModule, BUNDLE, dirname(BUNDLE));

/**
 * The bundle as a CommonJS module function. Its source and cache are read in here, not at the
 * top level, so they are not kept alive once V8 has them (2.8 MB).
 */
function compileBundle(): (...args: unknown[]) => void {
  const bundle = readFileSync(BUNDLE);
  // V8 checks a cache against the length of the source only; the digest ties it to its bundle.
  const digest = createHash('sha256').update(bundle).digest();
  const cachedData = writeCodeCache ? undefined : readCodeCache(digest);

  // Stack traces name the bundle by the path it had when the cache was written: the build's.
  const script = new Script(
    `(function (exports, require, module, __filename, __dirname) {${bundle.toString()}\n})`,
    { filename: BUNDLE, cachedData },
  );
  if (writeCodeCache) {
    process.once('exit', () => {
      writeFileSync(CODE_CACHE, Buffer.concat([digest, script.createCachedData()]));
    });
  } else if (cachedData === undefined || script.cachedDataRejected === true) {
    process.emitWarning(
      cachedData === undefined
        ? `no code cache for this build at ${CODE_CACHE}: starting slower`
        : 'V8 refused the code cache, written by another Node.js or under other V8 flags ' +
            '(such as --max-old-space-size): starting slower',
      { code: 'TOLLGATE_CODE_CACHE' },
    );
  }
  return script.runInThisContext() as (...args: unknown[]) => void;
}

/** The cache written for this bundle, or undefined when there is none. */
function readCodeCache(bundleDigest: Buffer): Buffer | undefined {
  let file: Buffer;
  try {
    file = readFileSync(CODE_CACHE);
  } catch {
    return undefined;
  }
  const written = file.subarray(0, bundleDigest.length);
  return written.equals(bundleDigest) ? file.subarray(bundleDigest.length) : undefined;
}
