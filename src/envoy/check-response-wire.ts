import type { CheckResponse, HeaderValueOption, Struct, StructValue } from './messages.js';
import type { ProtoWriter } from './proto-writer.js';

/**
 * Field numbers of the messages a CheckResponse is made of, from proto/ (envoy/service/auth/v3,
 * envoy/config/core/v3/base.proto, envoy/type/v3/http_status.proto, google/rpc/status.proto)
 * and protobuf's google/protobuf/struct.proto. The contract test holds these writers'
 * bytes equal to protobufjs's encoding of the same messages from those files.
 */
const FIELD = {
  checkResponse: { status: 1, deniedResponse: 2, okResponse: 3, dynamicMetadata: 4 },
  status: { code: 1, message: 2 },
  deniedResponse: { status: 1, headers: 2, body: 3 },
  httpStatus: { code: 1 },
  okResponse: { headers: 2, headersToRemove: 5 },
  headerValueOption: { header: 1, appendAction: 3 },
  headerValue: { key: 1, value: 2 },
  struct: { fields: 1 },
  mapEntry: { key: 1, value: 2 },
  value: { number: 2, string: 3, bool: 4, struct: 5, list: 6 },
  listValue: { values: 1 },
} as const;

/**
 * Writes every field of a CheckResponse but `dynamic_metadata`, in field-number order, as
 * protobufjs does: a field is written when it is set, even to its zero value.
 */
export function writeCheckResponseHead(writer: ProtoWriter, response: CheckResponse): void {
  const { status, denied_response: denied, ok_response: ok } = response;

  if (status !== undefined) {
    const mark = writer.begin(FIELD.checkResponse.status);
    writer.int32(FIELD.status.code, status.code);
    if (status.message !== undefined) writer.string(FIELD.status.message, status.message);
    writer.end(mark);
  }
  if (denied !== undefined) {
    const mark = writer.begin(FIELD.checkResponse.deniedResponse);
    const statusMark = writer.begin(FIELD.deniedResponse.status);
    writer.int32(FIELD.httpStatus.code, denied.status.code);
    writer.end(statusMark);
    writeHeaders(writer, FIELD.deniedResponse.headers, denied.headers);
    writer.string(FIELD.deniedResponse.body, denied.body);
    writer.end(mark);
  }
  if (ok !== undefined) {
    const mark = writer.begin(FIELD.checkResponse.okResponse);
    writeHeaders(writer, FIELD.okResponse.headers, ok.headers);
    for (const name of ok.headers_to_remove) writer.string(FIELD.okResponse.headersToRemove, name);
    writer.end(mark);
  }
}

/** A whole CheckResponse: the head, then `dynamic_metadata` when it is set. */
export function writeCheckResponse(writer: ProtoWriter, response: CheckResponse): void {
  writeCheckResponseHead(writer, response);
  if (response.dynamic_metadata === undefined) return;
  const mark = writer.begin(FIELD.checkResponse.dynamicMetadata);
  writeStructFields(writer, response.dynamic_metadata);
  writer.end(mark);
}

/**
 * A Struct's entries, without the Struct's own tag and length: map entries are a repeated field,
 * so entries written after these (the decision id) belong to the same Struct.
 */
export function writeStructFields(writer: ProtoWriter, struct: Struct): void {
  for (const key of Object.keys(struct.fields)) {
    writeStructEntry(writer, key, struct.fields[key] as StructValue);
  }
}

/** One `fields` entry of a Struct, in the order protobufjs writes a map entry: key, value. */
function writeStructEntry(writer: ProtoWriter, key: string, value: StructValue): void {
  const mark = writer.begin(FIELD.struct.fields);
  writer.string(FIELD.mapEntry.key, key);
  const valueMark = writer.begin(FIELD.mapEntry.value);
  writeValueKind(writer, value);
  writer.end(valueMark);
  writer.end(mark);
}

function writeValueKind(writer: ProtoWriter, value: StructValue): void {
  if ('stringValue' in value) {
    writer.string(FIELD.value.string, value.stringValue);
  } else if ('numberValue' in value) {
    writer.double(FIELD.value.number, value.numberValue);
  } else if ('boolValue' in value) {
    writer.bool(FIELD.value.bool, value.boolValue);
  } else if ('structValue' in value) {
    const mark = writer.begin(FIELD.value.struct);
    writeStructFields(writer, value.structValue);
    writer.end(mark);
  } else {
    const mark = writer.begin(FIELD.value.list);
    for (const item of value.listValue.values) {
      const itemMark = writer.begin(FIELD.listValue.values);
      writeValueKind(writer, item);
      writer.end(itemMark);
    }
    writer.end(mark);
  }
}

function writeHeaders(
  writer: ProtoWriter,
  field: number,
  headers: readonly HeaderValueOption[],
): void {
  for (const { header, append_action: appendAction } of headers) {
    const mark = writer.begin(field);
    const headerMark = writer.begin(FIELD.headerValueOption.header);
    writer.string(FIELD.headerValue.key, header.key);
    writer.string(FIELD.headerValue.value, header.value);
    writer.end(headerMark);
    if (appendAction !== undefined)
      writer.int32(FIELD.headerValueOption.appendAction, appendAction);
    writer.end(mark);
  }
}
