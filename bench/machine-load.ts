/**
 * How busy the machine is, from /proc/stat. On a shared 2-core machine someone else's test run
 * can take half of the server's core; the benchmark waits for a quiet moment before each
 * measurement, and counts what others used during it so a disturbed number is flagged.
 */
import { readFileSync } from 'node:fs';

const MS_PER_TICK = 10;
const SAMPLE_MS = 300;

/**
 * Busy time of one CPU or of all, in ms: user, nice and system time, and steal (time the
 * hypervisor gave to another machine). Interrupt time is left out: loopback traffic between the
 * driver and the server is processed there, and it is ours.
 */
export function readBusyMs(cpu: number | 'all'): number | undefined {
  const name = cpu === 'all' ? 'cpu' : `cpu${cpu}`;
  const line = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith(`${name} `));
  if (line === undefined) return undefined;
  // Fields: user nice system idle iowait irq softirq steal ...
  const [user, nice, system, , , , , steal] = line.trim().split(/\s+/).slice(1).map(Number);
  const ticks = [user, nice, system, steal].reduce<number>((sum, value) => sum + (value ?? 0), 0);
  return ticks * MS_PER_TICK;
}

/**
 * Waits until the whole machine used less than `maxBusyCores` over a 300 ms sample (the servers
 * under test are idle then), or until `maxWaitMs` has passed. Returns how long it waited.
 */
export async function waitForQuiet(maxBusyCores: number, maxWaitMs: number): Promise<number> {
  const startedMs = performance.now();
  for (;;) {
    const before = readBusyMs('all');
    const sampleStartMs = performance.now();
    await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
    const after = readBusyMs('all');
    const elapsedMs = performance.now() - sampleStartMs;
    if (before === undefined || after === undefined) return 0;
    const waitedMs = performance.now() - startedMs;
    if ((after - before) / elapsedMs < maxBusyCores || waitedMs >= maxWaitMs) return waitedMs;
  }
}
