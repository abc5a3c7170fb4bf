import type { Decision } from '../pipeline/decision.js';
import type { CheckCodec } from './codec.js';
import { decisionIdMetadata, toCheckResponse } from './to-check-response.js';

/** CheckResponse.dynamic_metadata's field number in envoy/service/auth/v3/external_auth.proto. */
const DYNAMIC_METADATA_FIELD = 4;

interface EncodedDecision {
  /** Every CheckResponse field but dynamic_metadata. */
  readonly head: Buffer;
  /** The entries of the dynamic_metadata Struct, without the decision id. */
  readonly metadataEntries: Buffer;
}

/**
 * Encodes Decisions as CheckResponse bytes. The Decider shares one Decision object among all
 * requests with the same outcome (same rule, same cached identity), so everything but the
 * decision id is encoded once per Decision and kept weakly. Per request, only the id's Struct
 * entry is encoded and appended to the Struct's other entries (map entries are a repeated field,
 * so this is the same message a single encoding would give).
 */
export class CheckResponseEncoder {
  readonly #encoded = new WeakMap<Decision, EncodedDecision>();

  constructor(private readonly codec: CheckCodec) {}

  encode(decision: Decision, decisionId: string): Buffer {
    let encoded = this.#encoded.get(decision);
    if (encoded === undefined) {
      const { dynamic_metadata: metadata, ...rest } = toCheckResponse(decision);
      encoded = {
        head: ownCopy(this.codec.encodeResponse(rest)),
        metadataEntries: ownCopy(this.codec.encodeStruct(metadata)),
      };
      this.#encoded.set(decision, encoded);
    }

    const idEntry = this.codec.encodeStruct(decisionIdMetadata(decisionId));
    const metadataLength = encoded.metadataEntries.length + idEntry.length;
    const fieldHeader = this.codec.encodeFieldHeader(DYNAMIC_METADATA_FIELD, metadataLength);
    return Buffer.concat([encoded.head, fieldHeader, encoded.metadataEntries, idEntry]);
  }
}

/**
 * Small Buffers are slices of a shared 8 KiB slab; one kept for long would keep its whole slab
 * alive. Encodings that outlive the request get memory of their own.
 */
function ownCopy(bytes: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(copy);
  return copy;
}
