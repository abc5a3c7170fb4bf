/** Protobuf wire types (protobuf encoding spec, "Message Structure"). */
const WIRE_TYPE = { varint: 0, fixed64: 1, lengthDelimited: 2 } as const;

/**
 * Strings up to this many characters are copied by a loop when they are ASCII: below it, that
 * measured faster than a call to Buffer#write, whose cost is mostly the call.
 */
const SHORT_STRING = 64;

/** What a scratch buffer starts at; a CheckResponse with ordinary claims takes a few hundred. */
const INITIAL_BYTES = 4096;

/**
 * Largest scratch buffer kept from one message to the next: a token with megabytes of claims
 * must not pin that much memory for the life of the process.
 */
const MAX_KEPT_BYTES = 64 * 1024;

/**
 * Writes protobuf fields into one scratch buffer that is reused from message to message, so a
 * message costs one allocation, its copy out (`toBuffer`), or none (`toLatin1`). A nested
 * message or string opens with `begin`, which reserves one byte for its length, and closes with
 * `end`; the rare value of 128 bytes or more, whose length needs a longer varint, is moved up
 * by the bytes it lacks. protobufjs's Writer builds a linked list of operations first, a few
 * objects per field: on a Check whose Decision is new (a token verified for the first time),
 * that was a quarter of what tollgate allocated.
 *
 * Not reentrant: one message at a time, from `reset` to `toBuffer` or `toLatin1`.
 */
export class ProtoWriter {
  #buffer = Buffer.allocUnsafe(INITIAL_BYTES);
  #at = 0;

  /** Starts a new message; a buffer grown past MAX_KEPT_BYTES by the last one is let go. */
  reset(): void {
    this.#at = 0;
    if (this.#buffer.length > MAX_KEPT_BYTES) this.#buffer = Buffer.allocUnsafe(INITIAL_BYTES);
  }

  /** An int32 or enum field (an integer of 32 bits). Negative values take ten bytes. */
  int32(field: number, value: number): void {
    this.#tag(field, WIRE_TYPE.varint);
    if (value >= 0) {
      this.#varint(value);
      return;
    }
    this.#reserve(10);
    let low = value >>> 0;
    for (let index = 0; index < 4; index++) {
      this.#buffer[this.#at++] = (low & 0x7f) | 0x80;
      low >>>= 7;
    }
    // Bits 28 to 63 of the sign-extended value: 0xf from the low word, then all ones.
    this.#buffer[this.#at++] = low | 0xf0;
    for (let index = 0; index < 4; index++) this.#buffer[this.#at++] = 0xff;
    this.#buffer[this.#at++] = 0x01;
  }

  bool(field: number, value: boolean): void {
    this.#tag(field, WIRE_TYPE.varint);
    this.#varint(value ? 1 : 0);
  }

  double(field: number, value: number): void {
    this.#tag(field, WIRE_TYPE.fixed64);
    this.#reserve(8);
    this.#buffer.writeDoubleLE(value, this.#at);
    this.#at += 8;
  }

  /** A string field, as UTF-8 (a lone surrogate becomes U+FFFD, as in Buffer#write). */
  string(field: number, value: string): void {
    const mark = this.begin(field);
    this.#reserve(value.length * 3);
    if (value.length > SHORT_STRING || !this.#ascii(value)) {
      this.#at += this.#buffer.write(value, this.#at, 'utf8');
    }
    this.end(mark);
  }

  /**
   * Copies a short string that is all ASCII one character per byte, and says whether it was;
   * what it copied of a string that is not is overwritten by the caller.
   */
  #ascii(value: string): boolean {
    const buffer = this.#buffer;
    const at = this.#at;
    for (let index = 0; index < value.length; index++) {
      const code = value.charCodeAt(index);
      if (code > 0x7f) return false;
      buffer[at + index] = code;
    }
    this.#at = at + value.length;
    return true;
  }

  /**
   * Bytes given as a Latin-1 string (one character per byte), such as `toLatin1`'s output,
   * written as they are, without a tag: they are already fields of the enclosing message.
   */
  latin1(bytes: string): void {
    this.#reserve(bytes.length);
    this.#at += this.#buffer.write(bytes, this.#at, 'latin1');
  }

  /** Opens a length-delimited field; returns the mark that `end` closes it with. */
  begin(field: number): number {
    this.#tag(field, WIRE_TYPE.lengthDelimited);
    this.#reserve(1);
    return this.#at++;
  }

  /** Closes the field `begin` opened, writing its length in front of it. */
  end(mark: number): void {
    const length = this.#at - mark - 1;
    if (length < 0x80) {
      this.#buffer[mark] = length;
      return;
    }
    const extra = varintLength(length) - 1;
    this.#reserve(extra);
    this.#buffer.copyWithin(mark + 1 + extra, mark + 1, this.#at);
    const after = this.#at + extra;
    this.#at = mark;
    this.#varint(length);
    this.#at = after;
  }

  /** Bytes written from `from` to `to` (default: to the end), one character per byte. */
  toLatin1(from: number, to = this.#at): string {
    return this.#buffer.toString('latin1', from, to);
  }

  get length(): number {
    return this.#at;
  }

  /** Bytes of scratch buffer held for the next message. */
  get capacity(): number {
    return this.#buffer.length;
  }

  /** A copy of what was written: the scratch buffer is overwritten by the next message. */
  toBuffer(): Buffer {
    const bytes = Buffer.allocUnsafe(this.#at);
    this.#buffer.copy(bytes, 0, 0, this.#at);
    return bytes;
  }

  #tag(field: number, wireType: number): void {
    this.#varint((field << 3) | wireType);
  }

  /** A non-negative integer below 2^32. */
  #varint(value: number): void {
    this.#reserve(5);
    let rest = value >>> 0;
    while (rest > 0x7f) {
      this.#buffer[this.#at++] = (rest & 0x7f) | 0x80;
      rest >>>= 7;
    }
    this.#buffer[this.#at++] = rest;
  }

  #reserve(bytes: number): void {
    const needed = this.#at + bytes;
    if (needed <= this.#buffer.length) return;
    let size = this.#buffer.length * 2;
    while (size < needed) size *= 2;
    const larger = Buffer.allocUnsafe(size);
    this.#buffer.copy(larger, 0, 0, this.#at);
    this.#buffer = larger;
  }
}

/** Bytes of a non-negative integer below 2^32 as a varint. */
export function varintLength(value: number): number {
  let length = 1;
  for (let rest = value >>> 7; rest !== 0; rest >>>= 7) length++;
  return length;
}
