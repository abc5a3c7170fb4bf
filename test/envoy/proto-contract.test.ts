// Contract test for proto/: the field names, numbers and types tollgate serves must stay
// identical to Envoy's published ext_authz v3 API (and googleapis / grpc-proto for the
// google.rpc and grpc.health.v1 parts). Expected values were checked against
// envoyproxy/data-plane-api @ 84e84367f2560cdb47b9bb78fd3e615feb80c3e4 (mirror of envoy api/).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';

const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));
const ENTRY_FILES = [
  'envoy/service/auth/v3/external_auth.proto',
  'envoy/service/auth/v3/attribute_context.proto',
  'envoy/config/core/v3/base.proto',
  'envoy/config/core/v3/address.proto',
  'envoy/type/v3/http_status.proto',
  'google/rpc/status.proto',
  'grpc/health/v1/health.proto',
];

const AUTH = 'envoy.service.auth.v3';
const CTX = `${AUTH}.AttributeContext`;
const CORE = 'envoy.config.core.v3';

/** protobufjs root resolving imports against proto/ only, as proto-loader's includeDirs does. */
function loadRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) =>
    path.isAbsolute(target) ? target : path.join(PROTO_DIR, target);
  root.loadSync(ENTRY_FILES, { keepCase: true });
  root.resolveAll();
  return root;
}

function loadPackageDefinition(): protoLoader.PackageDefinition {
  return protoLoader.loadSync(ENTRY_FILES, {
    includeDirs: [PROTO_DIR],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: false,
    oneofs: true,
  });
}

const root = loadRoot();
const packageDefinition = loadPackageDefinition();

/** Renders a protobufjs field as e.g. `string`, `repeated a.b.C`, `map<string, a.b.C>`. */
function describeType(field: protobuf.Field): string {
  const typeName = (f: protobuf.Field | protobuf.MapField): string =>
    f.resolvedType ? f.resolvedType.fullName.replace(/^\./, '') : f.type;
  if (field instanceof protobuf.MapField) return `map<${field.keyType}, ${typeName(field)}>`;
  return field.repeated ? `repeated ${typeName(field)}` : typeName(field);
}

interface DescriptorProto {
  name: string;
  field: Array<{ name: string; number: number }>;
  nestedType: DescriptorProto[];
}

/**
 * The DescriptorProto proto-loader hands to grpc-js. The package definition only lists
 * top-level messages, so nested ones (AttributeContext.Peer, ...) are found by walking
 * nestedType from the longest top-level prefix.
 */
function loaderDescriptor(fullName: string): DescriptorProto {
  const parts = fullName.split('.');
  for (let i = parts.length; i > 0; i--) {
    const def = packageDefinition[parts.slice(0, i).join('.')] as
      | protoLoader.MessageTypeDefinition<object, object>
      | undefined;
    if (def?.format !== 'Protocol Buffer 3 DescriptorProto') continue;
    let desc = def.type as DescriptorProto;
    for (const name of parts.slice(i)) {
      const next = desc.nestedType.find((n) => n.name === name);
      if (!next) throw new Error(`${fullName}: no nested type ${name}`);
      desc = next;
    }
    return desc;
  }
  throw new Error(`${fullName}: not in the proto-loader package definition`);
}

// [message, field, number, type]
const FIELDS: Array<[string, string, number, string]> = [
  // external_auth.proto
  [`${AUTH}.CheckRequest`, 'attributes', 1, CTX],
  [`${AUTH}.DeniedHttpResponse`, 'status', 1, 'envoy.type.v3.HttpStatus'],
  [`${AUTH}.DeniedHttpResponse`, 'headers', 2, `repeated ${CORE}.HeaderValueOption`],
  [`${AUTH}.DeniedHttpResponse`, 'body', 3, 'string'],
  [`${AUTH}.OkHttpResponse`, 'headers', 2, `repeated ${CORE}.HeaderValueOption`],
  [`${AUTH}.OkHttpResponse`, 'headers_to_remove', 5, 'repeated string'],
  [`${AUTH}.OkHttpResponse`, 'dynamic_metadata', 3, 'google.protobuf.Struct'],
  [`${AUTH}.OkHttpResponse`, 'response_headers_to_add', 6, `repeated ${CORE}.HeaderValueOption`],
  [`${AUTH}.OkHttpResponse`, 'query_parameters_to_set', 7, `repeated ${CORE}.QueryParameter`],
  [`${AUTH}.OkHttpResponse`, 'query_parameters_to_remove', 8, 'repeated string'],
  [`${AUTH}.CheckResponse`, 'status', 1, 'google.rpc.Status'],
  [`${AUTH}.CheckResponse`, 'denied_response', 2, `${AUTH}.DeniedHttpResponse`],
  [`${AUTH}.CheckResponse`, 'ok_response', 3, `${AUTH}.OkHttpResponse`],
  [`${AUTH}.CheckResponse`, 'error_response', 5, `${AUTH}.DeniedHttpResponse`],
  [`${AUTH}.CheckResponse`, 'dynamic_metadata', 4, 'google.protobuf.Struct'],
  // attribute_context.proto
  [CTX, 'source', 1, `${CTX}.Peer`],
  [CTX, 'destination', 2, `${CTX}.Peer`],
  [CTX, 'request', 4, `${CTX}.Request`],
  [CTX, 'context_extensions', 10, 'map<string, string>'],
  [CTX, 'metadata_context', 11, `${CORE}.Metadata`],
  [CTX, 'route_metadata_context', 13, `${CORE}.Metadata`],
  [CTX, 'tls_session', 12, `${CTX}.TLSSession`],
  [`${CTX}.Peer`, 'address', 1, `${CORE}.Address`],
  [`${CTX}.Peer`, 'service', 2, 'string'],
  [`${CTX}.Peer`, 'labels', 3, 'map<string, string>'],
  [`${CTX}.Peer`, 'principal', 4, 'string'],
  [`${CTX}.Peer`, 'certificate', 5, 'string'],
  [`${CTX}.Request`, 'time', 1, 'google.protobuf.Timestamp'],
  [`${CTX}.Request`, 'http', 2, `${CTX}.HttpRequest`],
  [`${CTX}.HttpRequest`, 'id', 1, 'string'],
  [`${CTX}.HttpRequest`, 'method', 2, 'string'],
  [`${CTX}.HttpRequest`, 'headers', 3, 'map<string, string>'],
  [`${CTX}.HttpRequest`, 'path', 4, 'string'],
  [`${CTX}.HttpRequest`, 'host', 5, 'string'],
  [`${CTX}.HttpRequest`, 'scheme', 6, 'string'],
  [`${CTX}.HttpRequest`, 'query', 7, 'string'],
  [`${CTX}.HttpRequest`, 'fragment', 8, 'string'],
  [`${CTX}.HttpRequest`, 'size', 9, 'int64'],
  [`${CTX}.HttpRequest`, 'protocol', 10, 'string'],
  [`${CTX}.HttpRequest`, 'body', 11, 'string'],
  [`${CTX}.HttpRequest`, 'raw_body', 12, 'bytes'],
  [`${CTX}.HttpRequest`, 'header_map', 13, `${CORE}.HeaderMap`],
  [`${CTX}.TLSSession`, 'sni', 1, 'string'],
  // config/core/v3/base.proto
  [`${CORE}.HeaderValue`, 'key', 1, 'string'],
  [`${CORE}.HeaderValue`, 'value', 2, 'string'],
  [`${CORE}.HeaderValue`, 'raw_value', 3, 'bytes'],
  [`${CORE}.HeaderValueOption`, 'header', 1, `${CORE}.HeaderValue`],
  [`${CORE}.HeaderValueOption`, 'append', 2, 'google.protobuf.BoolValue'],
  [`${CORE}.HeaderValueOption`, 'append_action', 3, `${CORE}.HeaderValueOption.HeaderAppendAction`],
  [`${CORE}.HeaderValueOption`, 'keep_empty_value', 4, 'bool'],
  [`${CORE}.HeaderMap`, 'headers', 1, `repeated ${CORE}.HeaderValue`],
  [`${CORE}.QueryParameter`, 'key', 1, 'string'],
  [`${CORE}.QueryParameter`, 'value', 2, 'string'],
  [`${CORE}.Metadata`, 'filter_metadata', 1, 'map<string, google.protobuf.Struct>'],
  [`${CORE}.Metadata`, 'typed_filter_metadata', 2, 'map<string, google.protobuf.Any>'],
  // config/core/v3/address.proto
  [`${CORE}.Address`, 'socket_address', 1, `${CORE}.SocketAddress`],
  [`${CORE}.Address`, 'pipe', 2, `${CORE}.Pipe`],
  [`${CORE}.Address`, 'envoy_internal_address', 3, `${CORE}.EnvoyInternalAddress`],
  [`${CORE}.SocketAddress`, 'protocol', 1, `${CORE}.SocketAddress.Protocol`],
  [`${CORE}.SocketAddress`, 'address', 2, 'string'],
  [`${CORE}.SocketAddress`, 'port_value', 3, 'uint32'],
  [`${CORE}.SocketAddress`, 'named_port', 4, 'string'],
  [`${CORE}.SocketAddress`, 'resolver_name', 5, 'string'],
  [`${CORE}.SocketAddress`, 'ipv4_compat', 6, 'bool'],
  [`${CORE}.SocketAddress`, 'network_namespace_filepath', 7, 'string'],
  [`${CORE}.Pipe`, 'path', 1, 'string'],
  [`${CORE}.Pipe`, 'mode', 2, 'uint32'],
  [`${CORE}.EnvoyInternalAddress`, 'server_listener_name', 1, 'string'],
  [`${CORE}.EnvoyInternalAddress`, 'endpoint_id', 2, 'string'],
  // type/v3/http_status.proto
  ['envoy.type.v3.HttpStatus', 'code', 1, 'envoy.type.v3.StatusCode'],
  // google/rpc/status.proto
  ['google.rpc.Status', 'code', 1, 'int32'],
  ['google.rpc.Status', 'message', 2, 'string'],
  ['google.rpc.Status', 'details', 3, 'repeated google.protobuf.Any'],
  // grpc/health/v1/health.proto
  ['grpc.health.v1.HealthCheckRequest', 'service', 1, 'string'],
  [
    'grpc.health.v1.HealthCheckResponse',
    'status',
    1,
    'grpc.health.v1.HealthCheckResponse.ServingStatus',
  ],
];

// [message, oneof name, member fields]
const ONEOFS: Array<[string, string, string[]]> = [
  [`${AUTH}.CheckResponse`, 'http_response', ['denied_response', 'ok_response', 'error_response']],
  [`${CORE}.Address`, 'address', ['socket_address', 'pipe', 'envoy_internal_address']],
  [`${CORE}.SocketAddress`, 'port_specifier', ['port_value', 'named_port']],
  [`${CORE}.EnvoyInternalAddress`, 'address_name_specifier', ['server_listener_name']],
];

// [enum, values]
const ENUMS: Array<[string, Record<string, number>]> = [
  [
    `${CORE}.HeaderValueOption.HeaderAppendAction`,
    {
      APPEND_IF_EXISTS_OR_ADD: 0,
      ADD_IF_ABSENT: 1,
      OVERWRITE_IF_EXISTS_OR_ADD: 2,
      OVERWRITE_IF_EXISTS: 3,
    },
  ],
  [`${CORE}.SocketAddress.Protocol`, { TCP: 0, UDP: 1 }],
  [
    'grpc.health.v1.HealthCheckResponse.ServingStatus',
    { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 },
  ],
];

describe('proto contract: fields match the published Envoy ext_authz v3 API', () => {
  it.each(FIELDS)('%s.%s = %i (%s)', (message, fieldName, number, type) => {
    const field = root.lookupType(message).fields[fieldName];
    expect(field, `${message}.${fieldName} missing`).toBeDefined();
    expect(field?.id).toBe(number);
    expect(describeType(field as protobuf.Field)).toBe(type);
  });

  it.each(FIELDS)('proto-loader descriptor: %s.%s = %i', (message, fieldName, number) => {
    const fields = loaderDescriptor(message).field;
    expect(fields.find((f) => f.name === fieldName)?.number).toBe(number);
  });

  it.each([...new Set(FIELDS.map(([message]) => message))])(
    '%s has no fields beyond the table',
    (message) => {
      const actual = root
        .lookupType(message)
        .fieldsArray.map((f) => f.name)
        .sort();
      const expected = FIELDS.filter(([m]) => m === message)
        .map(([, name]) => name)
        .sort();
      expect(actual).toEqual(expected);
    },
  );

  it.each(ONEOFS)('%s oneof %s', (message, oneofName, members) => {
    const oneof = root.lookupType(message).oneofs?.[oneofName];
    expect(oneof?.oneof).toEqual(members);
  });

  it('marks the deprecated fields deprecated', () => {
    const okDynamic = root.lookupType(`${AUTH}.OkHttpResponse`).fields.dynamic_metadata;
    const append = root.lookupType(`${CORE}.HeaderValueOption`).fields.append;
    expect(okDynamic?.options?.deprecated).toBe(true);
    expect(append?.options?.deprecated).toBe(true);
  });

  it('google.protobuf well-known types come from protobufjs, camelCase even with keepCase', () => {
    // protobufjs bundles struct.proto etc. with camelCase field names, so with keepCase a
    // google.protobuf.Value is { stringValue } while Envoy's own messages stay snake_case.
    const value = root.lookupType('google.protobuf.Value');
    expect(Object.keys(value.fields).sort()).toEqual(
      ['boolValue', 'listValue', 'nullValue', 'numberValue', 'stringValue', 'structValue'].sort(),
    );
  });

  it.each(ENUMS)('enum %s', (enumName, values) => {
    expect(root.lookupEnum(enumName).values).toEqual(values);
  });

  it('envoy.type.v3.StatusCode has every Envoy value', () => {
    const values = root.lookupEnum('envoy.type.v3.StatusCode').values;
    expect(Object.keys(values)).toHaveLength(57);
    expect(values).toMatchObject({
      Empty: 0,
      Continue: 100,
      OK: 200,
      IMUsed: 226,
      PermanentRedirect: 308,
      BadRequest: 400,
      Unauthorized: 401,
      Forbidden: 403,
      TooManyRequests: 429,
      RequestHeaderFieldsTooLarge: 431,
      InternalServerError: 500,
      ServiceUnavailable: 503,
      NetworkAuthenticationRequired: 511,
    });
  });
});

describe('proto contract: wire encoding', () => {
  const CheckRequest = root.lookupType(`${AUTH}.CheckRequest`);
  const CheckResponse = root.lookupType(`${AUTH}.CheckResponse`);

  it('encodes attributes.request.http.method with the expected tags', () => {
    const bytes = CheckRequest.encode(
      CheckRequest.fromObject({ attributes: { request: { http: { method: 'GET' } } } }),
    ).finish();
    // 0a: attributes(1), 22: request(4), 12: http(2), 12: method(2), then "GET".
    expect(Buffer.from(bytes).toString('hex')).toBe('0a09220712051203474554');
  });

  it('round-trips a full CheckRequest', () => {
    const input = {
      attributes: {
        source: {
          address: { socket_address: { address: '10.0.0.7', port_value: 51234 } },
          principal: 'spiffe://cluster.local/ns/default/sa/client',
        },
        destination: {
          address: { socket_address: { address: '10.0.0.9', port_value: 8080 } },
          labels: { app: 'api' },
        },
        request: {
          time: { seconds: 1_700_000_000, nanos: 5 },
          http: {
            id: 'req-1',
            method: 'POST',
            headers: { authorization: 'Bearer abc', ':path': '/v1/items?x=1' },
            header_map: {
              headers: [
                { key: 'x-multi', raw_value: Buffer.from('a') },
                { key: 'x-multi', raw_value: Buffer.from([0xff, 0x00]) },
              ],
            },
            path: '/v1/items?x=1',
            host: 'api.example.com',
            scheme: 'https',
            size: 12,
            protocol: 'HTTP/2',
            body: '{"a":1}',
            raw_body: Buffer.from('{"a":1}'),
          },
        },
        context_extensions: { route: 'items' },
        metadata_context: { filter_metadata: { 'envoy.filters.http.jwt_authn': { fields: {} } } },
        route_metadata_context: {
          filter_metadata: { tollgate: { fields: { policy: { stringValue: 'items-write' } } } },
        },
        tls_session: { sni: 'api.example.com' },
      },
    };
    const bytes = CheckRequest.encode(CheckRequest.fromObject(input)).finish();
    const decoded = CheckRequest.toObject(CheckRequest.decode(bytes), {
      longs: Number,
      bytes: Buffer,
    });
    const attrs = decoded.attributes;
    expect(attrs.source.address.socket_address).toEqual({
      address: '10.0.0.7',
      port_value: 51234,
    });
    expect(attrs.source.principal).toBe(input.attributes.source.principal);
    expect(attrs.destination.labels).toEqual({ app: 'api' });
    expect(attrs.request.time).toEqual({ seconds: 1_700_000_000, nanos: 5 });
    const http = attrs.request.http;
    expect(http.headers).toEqual(input.attributes.request.http.headers);
    expect(http.header_map.headers).toHaveLength(2);
    expect(Buffer.from(http.header_map.headers[1].raw_value)).toEqual(Buffer.from([0xff, 0x00]));
    expect(http.size).toBe(12);
    expect(Buffer.from(http.raw_body).toString()).toBe('{"a":1}');
    expect(attrs.context_extensions).toEqual({ route: 'items' });
    expect(attrs.route_metadata_context.filter_metadata.tollgate.fields.policy.stringValue).toBe(
      'items-write',
    );
    expect(attrs.tls_session.sni).toBe('api.example.com');
  });

  it('round-trips a CheckResponse with an ok_response through the oneof', () => {
    const input = {
      status: { code: 0 },
      ok_response: {
        headers: [
          {
            header: { key: 'x-user', value: 'alice' },
            append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
          },
        ],
        headers_to_remove: ['authorization'],
        query_parameters_to_set: [{ key: 'tenant', value: 't1' }],
        query_parameters_to_remove: ['token'],
      },
      dynamic_metadata: { fields: { sub: { stringValue: 'alice' } } },
    };
    const bytes = CheckResponse.encode(CheckResponse.fromObject(input)).finish();
    const decoded = CheckResponse.toObject(CheckResponse.decode(bytes), {
      enums: String,
      oneofs: true,
    });
    expect(decoded.http_response).toBe('ok_response');
    expect(decoded.ok_response.headers[0].append_action).toBe('OVERWRITE_IF_EXISTS_OR_ADD');
    expect(decoded.ok_response.headers_to_remove).toEqual(['authorization']);
    expect(decoded.ok_response.query_parameters_to_set).toEqual([{ key: 'tenant', value: 't1' }]);
    expect(decoded.ok_response.query_parameters_to_remove).toEqual(['token']);
    expect(decoded.dynamic_metadata.fields.sub.stringValue).toBe('alice');
  });

  it('serializes through the proto-loader method definition grpc-js uses', () => {
    const service = packageDefinition[`${AUTH}.Authorization`] as protoLoader.ServiceDefinition;
    const check = service.Check as protoLoader.MethodDefinition<object, object>;
    const denied = {
      status: { code: 7, message: 'denied' },
      denied_response: {
        status: { code: 'Forbidden' },
        headers: [{ header: { key: 'www-authenticate', value: 'Bearer' } }],
        body: 'nope',
      },
    };
    const decoded = check.responseDeserialize(check.responseSerialize(denied)) as {
      http_response?: string;
      denied_response?: { status?: { code?: string }; body?: string };
    };
    expect(decoded.http_response).toBe('denied_response');
    expect(decoded.denied_response?.status?.code).toBe('Forbidden');
    expect(decoded.denied_response?.body).toBe('nope');
  });
});

describe('proto contract: gRPC service definitions', () => {
  it('envoy.service.auth.v3.Authorization/Check is unary', () => {
    const service = packageDefinition[`${AUTH}.Authorization`] as protoLoader.ServiceDefinition;
    expect(Object.keys(service)).toEqual(['Check']);
    expect(service.Check).toMatchObject({
      path: '/envoy.service.auth.v3.Authorization/Check',
      requestStream: false,
      responseStream: false,
    });
    expect(service.Check?.requestType.type).toMatchObject({ name: 'CheckRequest' });
    expect(service.Check?.responseType.type).toMatchObject({ name: 'CheckResponse' });
  });

  it('grpc.health.v1.Health has unary Check and server-streaming Watch', () => {
    const service = packageDefinition['grpc.health.v1.Health'] as protoLoader.ServiceDefinition;
    expect(service.Check).toMatchObject({
      path: '/grpc.health.v1.Health/Check',
      requestStream: false,
      responseStream: false,
    });
    expect(service.Watch).toMatchObject({
      path: '/grpc.health.v1.Health/Watch',
      requestStream: false,
      responseStream: true,
    });
  });

  it('grpc-js loadPackageDefinition exposes both services', () => {
    const loaded = grpc.loadPackageDefinition(packageDefinition) as unknown as {
      envoy: { service: { auth: { v3: { Authorization: grpc.ServiceClientConstructor } } } };
      grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
    };
    const authz = loaded.envoy.service.auth.v3.Authorization;
    const health = loaded.grpc.health.v1.Health;
    expect(authz.service.Check?.path).toBe('/envoy.service.auth.v3.Authorization/Check');
    expect(health.service.Check?.path).toBe('/grpc.health.v1.Health/Check');
    expect(health.service.Watch?.responseStream).toBe(true);
  });
});
