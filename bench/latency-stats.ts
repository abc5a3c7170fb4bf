/** Latency samples and what the report shows of them. Values are in milliseconds. */

export interface LatencySummary {
  readonly samples: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
}

/** A growable array of latencies, cheap to append to on the hot path of a driver. */
export class LatencyRecorder {
  #values = new Float64Array(1 << 16);
  #length = 0;

  record(latencyMs: number): void {
    if (this.#length === this.#values.length) {
      const grown = new Float64Array(this.#values.length * 2);
      grown.set(this.#values);
      this.#values = grown;
    }
    this.#values[this.#length++] = latencyMs;
  }

  get count(): number {
    return this.#length;
  }

  summarize(): LatencySummary {
    return summarizeLatencies(this.#values.subarray(0, this.#length));
  }
}

/** Nearest-rank percentiles (no interpolation): p99.9 of 2,000 samples is the 1,998th value. */
export function summarizeLatencies(values: Float64Array): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  const at = (quantile: number) => {
    if (sorted.length === 0) return Number.NaN;
    const rank = Math.ceil(quantile * sorted.length);
    return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
  };
  return {
    samples: sorted.length,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    p999Ms: at(0.999),
    maxMs: at(1),
  };
}
