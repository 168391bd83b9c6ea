// log2-microsecond histograms as the probes fill them (probes/sched.h):
// slot 0 holds [0, 1) us, slot i holds [2^(i-1), 2^i) us.

export interface Bucket {
  le_us: number;
  count: number;
}

export function slotUpperUs(slot: number): number {
  return 2 ** slot;
}

function slotLowerUs(slot: number): number {
  return slot === 0 ? 0 : 2 ** (slot - 1);
}

export function addSlots(into: number[], from: readonly number[]): number[] {
  for (let i = 0; i < from.length; i++) into[i] = (into[i] ?? 0) + from[i]!;
  return into;
}

export function subtractSlots(cur: readonly number[], prev: readonly number[] | undefined): number[] {
  return cur.map((v, i) => v - (prev?.[i] ?? 0));
}

/** Buckets up to the last non-empty one (an empty histogram gives none). */
export function toBuckets(slots: readonly number[]): Bucket[] {
  let last = -1;
  slots.forEach((v, i) => {
    if (v > 0) last = i;
  });
  return slots.slice(0, last + 1).map((count, slot) => ({ le_us: slotUpperUs(slot), count }));
}

/**
 * The q-quantile in microseconds, interpolated linearly inside its bucket:
 * exact to within the bucket's width, which is all a log2 histogram knows.
 */
export function quantileUs(slots: readonly number[], q: number): number {
  const total = slots.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  const rank = q * total;
  let seen = 0;
  for (let slot = 0; slot < slots.length; slot++) {
    const count = slots[slot]!;
    if (count > 0 && seen + count >= rank) {
      const within = (rank - seen) / count;
      return slotLowerUs(slot) + within * (slotUpperUs(slot) - slotLowerUs(slot));
    }
    seen += count;
  }
  return slotUpperUs(slots.length - 1);
}

export function percentiles(slots: readonly number[]): { p50: number; p90: number; p99: number } {
  return { p50: quantileUs(slots, 0.5), p90: quantileUs(slots, 0.9), p99: quantileUs(slots, 0.99) };
}
