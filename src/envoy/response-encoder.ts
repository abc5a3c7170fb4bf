import type { Decision } from '../pipeline/decision.js';
import {
  writeCheckResponse,
  writeCheckResponseHead,
  writeStructFields,
} from './check-response-wire.js';
import { ProtoWriter, varintLength } from './proto-writer.js';
import { DECISION_ID_FIELD, toCheckResponse } from './to-check-response.js';

/** CheckResponse.dynamic_metadata's field number in envoy/service/auth/v3/external_auth.proto. */
const DYNAMIC_METADATA_FIELD = 4;

/**
 * Tags of the decision id's entry in the metadata Struct (google/protobuf/struct.proto): the
 * entry is Struct.fields (1), a map entry of key (1) and value (2), the value a
 * Value.string_value (3). All length-delimited (wire type 2).
 */
const TAG = {
  dynamicMetadata: (DYNAMIC_METADATA_FIELD << 3) | 2,
  structFields: (1 << 3) | 2,
  entryKey: (1 << 3) | 2,
  entryValue: (2 << 3) | 2,
  stringValue: (3 << 3) | 2,
} as const;

interface EncodedDecision {
  /**
   * Every CheckResponse field but dynamic_metadata, then the metadata Struct's entries, one
   * character per byte. A string rather than a Buffer: V8 keeps it in its own heap, where a
   * Buffer kept for long needs a backing store of its own (a small Buffer is a slice of a
   * shared 8 KiB slab that it would keep alive), and allocating and freeing one per cached
   * token cost more than encoding it.
   */
  readonly bytes: string;
  /** Where the Struct's entries (without the decision id) start in `bytes`. */
  readonly entriesAt: number;
}

/**
 * Encodes Decisions as CheckResponse bytes. The Decider shares one Decision object among all
 * requests with the same outcome (same rule, same cached identity), so everything but the
 * decision id is encoded once per Decision and kept weakly, in one allocation. Per request,
 * only the id's Struct entry is written, straight into the response after the Struct's other
 * entries (map entries are a repeated field, so this is the same message a single encoding
 * would give). The decision id is visible ASCII (see toDecisionId), one byte per character.
 * A Decision made for one request alone (`oneOff`) is written straight through, nothing kept.
 */
export class CheckResponseEncoder {
  readonly #encoded = new WeakMap<Decision, EncodedDecision>();
  readonly #writer = new ProtoWriter();

  encode(decision: Decision, decisionId: string): Buffer {
    const encoded = this.#encoded.get(decision);
    if (encoded !== undefined) return withDecisionId(encoded, decisionId);

    const writer = this.#writer;
    writer.reset();
    const response = toCheckResponse(decision);
    if (decision.oneOff === true) {
      // A fresh message: the id goes in as its last entry, where withDecisionId puts it too.
      response.dynamic_metadata.fields[DECISION_ID_FIELD] = { stringValue: decisionId };
      writeCheckResponse(writer, response);
      return writer.toBuffer();
    }

    writeCheckResponseHead(writer, response);
    const entriesAt = writer.length;
    writeStructFields(writer, response.dynamic_metadata);
    const shared = { bytes: writer.toLatin1(0), entriesAt };
    this.#encoded.set(decision, shared);
    return withDecisionId(shared, decisionId);
  }
}

/** A response from a Decision's shared bytes and this request's decision id. */
function withDecisionId({ bytes, entriesAt }: EncodedDecision, decisionId: string): Buffer {
  const idLength = decisionId.length;
  const valueLength = 1 + varintLength(idLength) + idLength;
  const entryLength = 2 + DECISION_ID_FIELD.length + 1 + varintLength(valueLength) + valueLength;
  const metadataLength = bytes.length - entriesAt + 1 + varintLength(entryLength) + entryLength;
  const response = Buffer.allocUnsafe(
    entriesAt + 1 + varintLength(metadataLength) + metadataLength,
  );

  let at = response.write(bytes.slice(0, entriesAt), 0, 'latin1');
  response[at++] = TAG.dynamicMetadata;
  at = writeVarint(response, at, metadataLength);
  at += response.write(bytes.slice(entriesAt), at, 'latin1');
  response[at++] = TAG.structFields;
  at = writeVarint(response, at, entryLength);
  response[at++] = TAG.entryKey;
  response[at++] = DECISION_ID_FIELD.length;
  at += response.write(DECISION_ID_FIELD, at, 'latin1');
  response[at++] = TAG.entryValue;
  at = writeVarint(response, at, valueLength);
  response[at++] = TAG.stringValue;
  at = writeVarint(response, at, idLength);
  response.write(decisionId, at, 'latin1');
  return response;
}

/** Writes `value` as a protobuf varint at `at`; returns the offset after it. */
function writeVarint(buffer: Buffer, at: number, value: number): number {
  let offset = at;
  let rest = value;
  while (rest > 0x7f) {
    buffer[offset++] = (rest & 0x7f) | 0x80;
    rest >>>= 7;
  }
  buffer[offset++] = rest;
  return offset;
}
