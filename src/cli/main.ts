import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';

// Each command loads its own modules when it runs, so `serve` starts without the client code
// of `check` (and @grpc/proto-loader) or the signing code of `token`. The installed executable
// is launch.ts, which runs this file bundled.

const { version } = JSON.parse(
  readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
) as { version: string };

const program = new Command('tollgate')
  .version(version)
  .description(
    'External authorization sidecar for Envoy: verifies access tokens and applies ' +
      'per-route policy.',
  )
  .showHelpAfterError();

program
  .command('serve', { isDefault: true })
  .description('start the ext_authz gRPC server')
  .option('-c, --config <file>', 'configuration file (or TOLLGATE_CONFIG)')
  .option('-l, --listen <address>', 'override listen.grpc: host:port or unix:/path')
  .allowExcessArguments(false)
  .action(async (options: { config?: string; listen?: string }) => {
    const file = options.config ?? process.env.TOLLGATE_CONFIG;
    if (file === undefined) {
      program.error('no configuration: pass --config FILE or set TOLLGATE_CONFIG');
    } else {
      const { serve } = await import('./serve.js');
      // Exit at once: a key fetch still under way must not hold a stopped sidecar open.
      process.exit(
        await serve(file, options.listen === undefined ? {} : { listen: options.listen }),
      );
    }
  });

program
  .command('validate')
  .description('check a configuration file and exit non-zero if it is invalid')
  .argument('<file>', 'configuration file')
  .action(async (file: string) => {
    const { validate } = await import('./validate.js');
    process.exitCode = await validate(file);
  });

program
  .command('token')
  .description(
    'mint a token signed with the DEMO key shipped in examples/ (never use it in production)',
  )
  .option('--sub <subject>', 'subject claim', 'demo-user')
  .option('--scope <scopes>', 'space-separated scopes', 'orders:read')
  .option('--aud <audience>', 'audience claim', 'orders-api')
  .option('--ttl <seconds>', 'lifetime in seconds', parsePositiveInteger, 300)
  .option('--key <file>', 'private JWK to sign with (default: the demo key)')
  .action(
    async (options: { sub: string; scope: string; aud: string; ttl: number; key?: string }) => {
      try {
        const { mintDemoToken } = await import('./mint-token.js');
        process.stdout.write(`${await mintDemoToken(options)}\n`);
      } catch (error) {
        program.error(`cannot mint a token: ${error instanceof Error ? error.message : error}`);
      }
    },
  );

program
  .command('check')
  .description('send one CheckRequest to a running tollgate, as Envoy would, and print the answer')
  .option('--address <address>', 'tollgate gRPC address', '127.0.0.1:9191')
  .option('--method <method>', 'HTTP method', 'GET')
  .option('--host <host>', 'HTTP host (:authority)', 'orders.example.com')
  .option('--path <path>', 'HTTP path with query', '/')
  .option('--token <token>', 'bearer token for the authorization header')
  .option('-H, --header <header>', 'extra request header "name: value" (repeatable)', collect, [])
  .option('--timeout <ms>', 'gRPC deadline in milliseconds', parsePositiveInteger, 1000)
  .action(
    async (options: {
      address: string;
      method: string;
      host: string;
      path: string;
      token?: string;
      header: string[];
      timeout: number;
    }) => {
      const { sendCheck } = await import('./send-check.js');
      process.exitCode = await sendCheck({
        ...options,
        method: options.method.toUpperCase(),
        headers: options.header,
        timeoutMs: options.timeout,
      });
    },
  );

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function parsePositiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0)
    throw new InvalidArgumentError('must be a positive integer');
  return number;
}

// No top-level await: the bundle is CommonJS (see launch.ts). A rejection still ends the process.
void program.parseAsync();
