import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type protobuf from 'protobufjs';
import { afterAll, describe, expect, it } from 'vitest';
import { createCheckCodec } from '../../src/envoy/codec.js';
import { loadProtoRoot, parseProtoFiles } from '../../src/envoy/proto-root.js';
import { toCheckRequest } from '../support/envoy-client.js';

const BUILT_JSON = fileURLToPath(new URL('../../dist/generated/proto-root.json', import.meta.url));

/** protobufjs JSON as the build writes it (undefined members dropped). */
function toJson(root: protobuf.Root): unknown {
  return JSON.parse(JSON.stringify(root.toJSON()));
}

describe('loadProtoRoot', () => {
  const parsed = parseProtoFiles();
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-proto-root-'));
  const writeJson = (root: protobuf.Root): string => {
    const file = join(dir, 'proto-root.json');
    writeFileSync(file, JSON.stringify(root.toJSON()));
    return file;
  };

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('builds from the JSON form the root that parsing proto/ gives', () => {
    const loaded = loadProtoRoot(writeJson(parsed));

    expect(toJson(loaded)).toEqual(toJson(parsed));
  });

  it('decodes the same bytes alike from the JSON form and from proto/', () => {
    const fromJson = createCheckCodec(loadProtoRoot(writeJson(parsed)));
    const fromProto = createCheckCodec(parsed);
    const request = parsed.lookupType('envoy.service.auth.v3.CheckRequest');
    const bytes = Buffer.from(
      request.encode(request.fromObject(toCheckRequest({ path: '/orders/1' }) as object)).finish(),
    );

    expect(fromJson.decodeRequest(bytes)).toEqual(fromProto.decodeRequest(bytes));
  });

  it('parses proto/ when there is no JSON form, as when run from src/', () => {
    expect(toJson(loadProtoRoot(join(dir, 'none.json')))).toEqual(toJson(parsed));
  });

  it('finds in dist/ the JSON form of proto/ as it is now (npm run build writes it)', () => {
    let built: unknown;
    try {
      built = JSON.parse(readFileSync(BUILT_JSON, 'utf8'));
    } catch {
      throw new Error(`cannot read ${BUILT_JSON}: run npm run build`);
    }

    expect(built, 'dist/ was built from other protos: run npm run build').toEqual(toJson(parsed));
  });
});
