import type { Decision } from '../pipeline/decision.js';
import type { CheckCodec } from './codec.js';
import { decisionIdMetadata, toCheckResponse } from './to-check-response.js';

/** CheckResponse.dynamic_metadata's field number in envoy/service/auth/v3/external_auth.proto. */
const DYNAMIC_METADATA_FIELD = 4;

interface EncodedDecision {
  /** Every CheckResponse field but dynamic_metadata, then the metadata Struct's entries. */
  readonly bytes: Buffer;
  /** Where the Struct's entries (without the decision id) start in `bytes`. */
  readonly entriesAt: number;
}

/**
 * Encodes Decisions as CheckResponse bytes. The Decider shares one Decision object among all
 * requests with the same outcome (same rule, same cached identity), so everything but the
 * decision id is encoded once per Decision and kept weakly, in one allocation. Per request,
 * only the id's Struct entry is encoded and appended to the Struct's other entries (map entries
 * are a repeated field, so this is the same message a single encoding would give).
 */
export class CheckResponseEncoder {
  readonly #encoded = new WeakMap<Decision, EncodedDecision>();

  constructor(private readonly codec: CheckCodec) {}

  encode(decision: Decision, decisionId: string): Buffer {
    let encoded = this.#encoded.get(decision);
    if (encoded === undefined) {
      encoded = this.#encodeShared(decision);
      this.#encoded.set(decision, encoded);
    }

    const { bytes, entriesAt } = encoded;
    const idEntry = this.codec.encodeStruct(decisionIdMetadata(decisionId));
    const metadataLength = bytes.length - entriesAt + idEntry.length;
    const fieldHeader = this.codec.encodeFieldHeader(DYNAMIC_METADATA_FIELD, metadataLength);
    const response = Buffer.allocUnsafe(entriesAt + fieldHeader.length + metadataLength);
    let at = bytes.copy(response, 0, 0, entriesAt);
    at += fieldHeader.copy(response, at);
    at += bytes.copy(response, at, entriesAt);
    idEntry.copy(response, at);
    return response;
  }

  #encodeShared(decision: Decision): EncodedDecision {
    const { dynamic_metadata: metadata, ...rest } = toCheckResponse(decision);
    const head = this.codec.encodeResponse(rest);
    const entries = this.codec.encodeStruct(metadata);
    // Memory of its own: a small Buffer is a slice of a shared 8 KiB slab, and one kept for
    // long would keep its whole slab alive.
    const bytes = Buffer.allocUnsafeSlow(head.length + entries.length);
    head.copy(bytes, 0);
    entries.copy(bytes, head.length);
    return { bytes, entriesAt: head.length };
  }
}
