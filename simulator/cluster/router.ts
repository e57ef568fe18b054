/**
 * Gateway routing policies. A router picks one of the ready, non-draining replicas for each
 * request; it sees what a real gateway sees: its own count of requests in flight per replica and
 * the replica's last reported KV usage. Ties go to the lowest index (the oldest replica), so a run
 * is deterministic.
 */
export type RouterPolicy = 'round-robin' | 'least-requests' | 'least-kv';
export const ROUTER_POLICIES: readonly RouterPolicy[] = ['round-robin', 'least-requests', 'least-kv'];

/** What a router reads about one candidate. */
export interface Routable {
  /** Requests sent to it and not finished yet. */
  inFlight: number;
  /** KV usage 0..1 as of its last engine step. */
  kvUsage(): number;
}

export interface Router {
  readonly policy: RouterPolicy;
  /** Index into `ready` (non-empty) of the replica that gets the next request. */
  pick(ready: readonly Routable[]): number;
}

export function createRouter(policy: RouterPolicy): Router {
  switch (policy) {
    case 'round-robin': {
      let next = 0;
      return {
        policy,
        pick(ready) {
          const i = next % ready.length;
          next = i + 1;
          return i;
        },
      };
    }
    case 'least-requests':
      return {
        policy,
        pick(ready) {
          let best = 0;
          let bestLoad = ready[0]!.inFlight;
          for (let i = 1; i < ready.length; i++) {
            const l = ready[i]!.inFlight;
            if (l < bestLoad) {
              best = i;
              bestLoad = l;
            }
          }
          return best;
        },
      };
    case 'least-kv':
      return {
        policy,
        pick(ready) {
          let best = 0;
          let bestKv = ready[0]!.kvUsage();
          let bestLoad = ready[0]!.inFlight;
          for (let i = 1; i < ready.length; i++) {
            const r = ready[i]!;
            const kv = r.kvUsage();
            // KV only moves at engine steps: among equal KV, the replica with fewer requests in
            // flight has less queued work that the gauge does not show yet.
            if (kv < bestKv || (kv === bestKv && r.inFlight < bestLoad)) {
              best = i;
              bestKv = kv;
              bestLoad = r.inFlight;
            }
          }
          return best;
        },
      };
    default: {
      const never: never = policy;
      throw new Error(`unknown router policy ${String(never)}; use one of ${ROUTER_POLICIES.join(', ')}`);
    }
  }
}

export function parseRouterPolicy(text: string): RouterPolicy {
  const p = text.trim().toLowerCase();
  const aliases: Record<string, RouterPolicy> = {
    rr: 'round-robin',
    'round-robin': 'round-robin',
    roundrobin: 'round-robin',
    'least-requests': 'least-requests',
    'least-request': 'least-requests',
    'least-kv': 'least-kv',
    'least-kv-cache': 'least-kv',
  };
  const r = aliases[p];
  if (r === undefined)
    throw new Error(`--router: unknown policy "${text}"; use one of ${ROUTER_POLICIES.join(', ')}`);
  return r;
}
