/**
 * The benchmark's child processes (the ceiling server and the load driver) run under plain
 * `node`, exactly like tollgate's dist/ build: a TypeScript loader such as tsx would add its
 * own threads and memory to the ceiling and make the comparison unfair. This transpiles them,
 * with the files they import, into bench/results/tmp/js/ (types are checked by `npm run lint`).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

/** Entry points and their local imports; nothing here may import from src/. */
const CHILD_SOURCES = ['ceiling-server.ts', 'driver.ts', 'grpc-frame.ts', 'latency-stats.ts'];

export interface ChildScripts {
  readonly ceilingServer: string;
  readonly driver: string;
}

export function buildChildScripts(benchDir: string, outDir: string): ChildScripts {
  mkdirSync(outDir, { recursive: true });
  for (const file of CHILD_SOURCES) {
    const source = readFileSync(join(benchDir, file), 'utf8');
    const output = ts.transpileModule(source, {
      fileName: file,
      compilerOptions: {
        module: ts.ModuleKind.ES2022,
        target: ts.ScriptTarget.ES2022,
        sourceMap: false,
      },
    });
    writeFileSync(join(outDir, file.replace(/\.ts$/, '.js')), output.outputText);
  }
  return {
    ceilingServer: join(outDir, 'ceiling-server.js'),
    driver: join(outDir, 'driver.js'),
  };
}
