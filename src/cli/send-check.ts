import { type Client, credentials } from '@grpc/grpc-js';
import type { CheckResponse } from '../envoy/messages.js';
import { loadProtoServices } from '../envoy/proto-definitions.js';

export interface SendCheckOptions {
  readonly address: string;
  readonly method: string;
  readonly host: string;
  readonly path: string;
  readonly token?: string;
  readonly headers: readonly string[];
  readonly timeoutMs: number;
}

interface AuthorizationClient extends Client {
  Check(
    request: unknown,
    options: { deadline: number },
    callback: (error: Error | null, response: CheckResponse) => void,
  ): void;
}

/**
 * `tollgate check`: sends one CheckRequest, shaped as Envoy's ext_authz filter sends it, and
 * prints the answer. For trying a configuration out and for debugging a deployed sidecar.
 */
export async function sendCheck(options: SendCheckOptions): Promise<number> {
  const headers: Record<string, string> = { ':authority': options.host, ':method': options.method };
  for (const header of options.headers) {
    const colon = header.indexOf(':', 1);
    if (colon < 0) {
      process.stderr.write(`--header "${header}" is not "name: value"\n`);
      return 2;
    }
    headers[header.slice(0, colon).trim().toLowerCase()] = header.slice(colon + 1).trim();
  }
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;

  const { AuthorizationClient } = loadProtoServices();
  const client = new AuthorizationClient(
    options.address,
    credentials.createInsecure(),
  ) as unknown as AuthorizationClient;
  const request = {
    attributes: {
      request: {
        http: {
          method: options.method,
          host: options.host,
          path: options.path,
          headers,
          protocol: 'HTTP/1.1',
        },
      },
    },
  };

  try {
    const response = await new Promise<CheckResponse>((resolve, reject) => {
      client.Check(request, { deadline: Date.now() + options.timeoutMs }, (error, answer) =>
        error ? reject(error) : resolve(answer),
      );
    });
    process.stdout.write(`${describeResponse(response)}\n`);
    return response.status?.code ? 1 : 0;
  } catch (error) {
    const details = ((error as { details?: string }).details ?? String(error)).replace(
      /\.?\s*Resolution note:\s*$/,
      '',
    );
    process.stderr.write(`no answer from tollgate at ${options.address}: ${details}\n`);
    return 2;
  } finally {
    client.close();
  }
}

/** `ALLOW` or `DENY <status> <reason>`, then the headers Envoy would apply. */
function describeResponse(response: CheckResponse): string {
  const allowed = !response.status?.code;
  const headers =
    (allowed ? response.ok_response?.headers : response.denied_response?.headers) ?? [];
  const reason = allowed ? '' : readReason(response.denied_response?.body);
  const lines = [
    allowed ? 'ALLOW' : `DENY ${String(response.denied_response?.status.code)} ${reason}`,
  ];
  for (const { header } of headers) lines.push(`  ${header.key}: ${header.value}`);
  for (const name of response.ok_response?.headers_to_remove ?? [])
    lines.push(`  (remove) ${name}`);
  if (!allowed && response.denied_response?.body)
    lines.push(`  body: ${response.denied_response.body}`);
  return lines.join('\n');
}

function readReason(body: string | undefined): string {
  try {
    return String((JSON.parse(body ?? '{}') as { error?: unknown }).error ?? '');
  } catch {
    return '';
  }
}
