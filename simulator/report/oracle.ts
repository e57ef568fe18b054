/**
 * The oracle: a perfect-foresight replica schedule that meets the SLO, costed with the same
 * cold-start delay as the runs. It is the lower bound each run's cost is divided by.
 *
 * 1. Time is cut into slots. A slot with `a` arrivals needs ceil(a / (capacity × slot length))
 *    ready replicas, where `capacity` is the highest arrival rate one replica serves within the
 *    SLO (measured on the replica model, capacity.ts), and never fewer than `minReplicas`.
 * 2. The need curve is cut into horizontal layers: layer j is on wherever the need is >= j. Each
 *    layer is one replica's life story: it must be ready during the layer's intervals, starts one
 *    cold-start delay D before each interval (paying for the start-up), and across a gap between two
 *    intervals it either stays up (paying the gap) or stops and restarts (paying D): whichever is
 *    cheaper, min(gap, D). Before time 0 a replica is free to exist, so the first interval costs
 *    min(its start, D) of lead time.
 * 3. The cost is the paid replica time over all layers, times the replica price.
 *
 * Drain time after the last request of an interval is not charged: the oracle is a bound, not a
 * plan. Everything here is plain arithmetic on arrays so tests can check it by hand.
 */

/** Ready replicas needed per slot. */
export function slotNeeds(
  arrivalsMs: ArrayLike<number>,
  horizonMs: number,
  slotMs: number,
  capacityRps: number,
  minReplicas: number,
): number[] {
  if (!(slotMs > 0)) throw new Error(`oracle slot must be > 0 ms, got ${slotMs}`);
  if (!(capacityRps > 0)) throw new Error(`replica capacity must be > 0 req/s, got ${capacityRps}`);
  const slots = Math.max(1, Math.ceil(horizonMs / slotMs));
  const counts = new Array<number>(slots).fill(0);
  for (let i = 0; i < arrivalsMs.length; i++) {
    const k = Math.min(slots - 1, Math.max(0, Math.floor(arrivalsMs[i]! / slotMs)));
    counts[k]!++;
  }
  const perReplica = capacityRps * (slotMs / 1000);
  // Guard the division against float noise: 10 arrivals at exactly 10 per replica need 1, not 2.
  return counts.map((c) => Math.max(minReplicas, Math.ceil(c / perReplica - 1e-9)));
}

export interface OracleSchedule {
  /** Paid replica time, ms. */
  replicaMs: number;
  /** Replica starts (cold starts paid), not counting replicas alive at time 0. */
  starts: number;
  /** Highest need. */
  peak: number;
  /** Ready replicas needed per slot (the input). */
  needs: number[];
}

/** Costs the need curve `needs` (per slot of `slotMs`) with cold-start delay `coldStartMs`. */
export function scheduleFor(needs: readonly number[], slotMs: number, coldStartMs: number): OracleSchedule {
  if (!(coldStartMs >= 0)) throw new Error(`cold start must be >= 0 ms, got ${coldStartMs}`);
  let peak = 0;
  for (const v of needs) {
    if (!(Number.isInteger(v) && v >= 0)) throw new Error(`replica needs must be integers >= 0, got ${v}`);
    if (v > peak) peak = v;
  }
  let replicaMs = 0;
  let starts = 0;
  for (let layer = 1; layer <= peak; layer++) {
    // Free to exist before time 0: the first gap is measured from 0.
    let prevEnd = 0;
    let k = 0;
    while (k < needs.length) {
      if (needs[k]! < layer) {
        k++;
        continue;
      }
      const a = k;
      while (k < needs.length && needs[k]! >= layer) k++;
      const startMs = a * slotMs;
      const gap = startMs - prevEnd;
      if (gap > coldStartMs) {
        replicaMs += coldStartMs;
        starts++;
      } else {
        replicaMs += gap;
      }
      replicaMs += (k - a) * slotMs;
      prevEnd = k * slotMs;
    }
  }
  return { replicaMs, starts, peak, needs: [...needs] };
}
