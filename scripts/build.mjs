// The build after tsc (`npm run build`): files that spare start-up work.
//   dist/generated/proto-root.json  proto/ as protobufjs JSON, which loadProtoRoot
//                                   (src/envoy/proto-root.ts) reads instead of parsing proto/
//   dist/bundle/tollgate.cjs        the CLI (dist/cli/main.js) and its dependencies in one
//                                   CommonJS file, which dist/cli/launch.js compiles with the
//                                   code cache scripts/write-code-cache.mjs writes next
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';
import { parseProtoFiles } from '../dist/envoy/proto-root.js';

mkdirSync('dist/generated', { recursive: true });
writeFileSync('dist/generated/proto-root.json', JSON.stringify(parseProtoFiles().toJSON()));

rmSync('dist/bundle', { recursive: true, force: true });
await build({
  entryPoints: ['dist/cli/main.js'],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // CommonJS has no import.meta: the bundle's own URL stands in. The bundle sits two levels
  // under the package, as dist/cli/main.js does, so '../../proto' and '../../package.json'
  // still resolve.
  outfile: 'dist/bundle/tollgate.cjs',
  define: { 'import.meta.url': '__importMetaUrl' },
  banner: { js: "const __importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  // Less source to read and hash at each start; names are kept for readable stack traces.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});

chmodSync('dist/cli/launch.js', 0o755);
