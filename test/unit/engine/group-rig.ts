/**
 * A model group on in-memory seams, for the engine's and the daemon's tests: two Deployments whose
 * pods follow their counts, token histograms that grow as requests finish, two profiles.
 */
import { resolvePodAutoscaler } from '../../../src/api/resolve.js';
import type { ResolvedPodAutoscaler, ScaleTargetRef } from '../../../src/api/resolved.js';
import { ManualClock, TableMetricSource } from '../../../src/engine/memory.js';
import type { PodInfo, PodSource, ScaleState, ScaleTarget } from '../../../src/engine/seams.js';
import type { TokenSnapshot } from '../../../src/optimizer/engine-load.js';
import type {
  TokenHistogramSource,
  TokenReading,
  TokenReadRequest,
} from '../../../src/optimizer/token-scraper.js';
import { profile } from '../optimizer/fixtures.js';

export const GRID = { input: [512], output: [128] };
/** A10G: 1 req/s per replica at $1; H100: 10 req/s at $4. Below 4 req/s A10Gs are cheaper. */
export const PROFILES = [profile('A10G', 1, GRID, [[1]], 'llama'), profile('H100', 4, GRID, [[10]], 'llama')];

/** Deployments by name, each with its pods; `fail` makes a call throw. */
export class Cluster implements ScaleTarget, PodSource {
  readonly deployments = new Map<string, { replicas: number; pods: string[] }>();
  readonly created = new Map<string, number>();
  readonly writes: Array<{ name: string; replicas: number }> = [];
  failGet = new Set<string>();
  failSet = new Set<string>();
  constructor(private readonly clock: ManualClock) {}

  add(name: string, replicas: number): void {
    this.deployments.set(name, { replicas, pods: this.podsOf(name, replicas) });
  }
  /** Pods follow the count at once (cold starts are the simulator's job); new ones are born now. */
  private podsOf(name: string, replicas: number): string[] {
    const pods = Array.from({ length: replicas }, (_, i) => `${name}-${i}`);
    for (const p of pods) if (!this.created.has(p)) this.created.set(p, this.clock.now());
    // A removed pod is gone; a later one with the same name is a new pod.
    for (const p of this.created.keys()) {
      if (p.startsWith(`${name}-`) && Number(p.slice(name.length + 1)) >= replicas) this.created.delete(p);
    }
    return pods;
  }
  async get(_ns: string, ref: ScaleTargetRef): Promise<ScaleState> {
    if (this.failGet.has(ref.name)) throw new Error(`deployments.apps "${ref.name}" is forbidden`);
    const d = this.deployments.get(ref.name);
    if (!d) throw new Error(`deployments.apps "${ref.name}" not found`);
    return { replicas: d.replicas, selector: `app=${ref.name}` };
  }
  async set(_ns: string, ref: ScaleTargetRef, replicas: number): Promise<void> {
    if (this.failSet.has(ref.name)) throw new Error('the object has been modified');
    const d = this.deployments.get(ref.name)!;
    d.replicas = replicas;
    d.pods = this.podsOf(ref.name, replicas);
    this.writes.push({ name: ref.name, replicas });
  }
  async list(namespace: string, selector: string): Promise<PodInfo[]> {
    const d = this.deployments.get(selector.replace('app=', ''));
    return (d?.pods ?? []).map((name) => ({
      name,
      namespace,
      ip: '127.0.0.2',
      phase: 'Running',
      ready: true,
      terminating: false,
      labels: {},
      createdAtMs: this.created.get(name)!,
    }));
  }
}

/** Cumulative token histograms per pod: `finish(pod, n)` adds n requests of 500 in / 100 out. */
export class Tokens implements TokenHistogramSource {
  private readonly counts = new Map<string, number>();
  failing = new Set<string>();
  reads = 0;
  finish(pod: string, n: number): void {
    this.counts.set(pod, (this.counts.get(pod) ?? 0) + n);
  }
  async read(req: TokenReadRequest): Promise<TokenReading> {
    this.reads++;
    const out: TokenReading = new Map();
    for (const p of req.pods) {
      if (this.failing.has(p.name)) out.set(p.name, { error: `pod ${p.name}: connection refused` });
      else out.set(p.name, { snapshot: snapshot(this.counts.get(p.name) ?? 0) });
    }
    return out;
  }
}

export function snapshot(n: number): TokenSnapshot {
  const les = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000];
  return {
    prompt: { count: n, sum: 500 * n, buckets: les.map((le) => ({ le, count: le >= 500 ? n : 0 })) },
    generation: { count: n, sum: 100 * n, buckets: les.map((le) => ({ le, count: le >= 100 ? n : 0 })) },
  };
}

/** A Deployment as a scaleTargetRef. */
export const deployment = (name: string) => ({ apiVersion: 'apps/v1', kind: 'Deployment', name });

/** The group's PodAutoscaler as written: A10G on spec.scaleTargetRef (llama-a10g), H100 on llama-h100. */
export function groupSpec(
  optimizer: Record<string, unknown> = {},
  spec: Record<string, unknown> = {},
  name = 'group',
): Record<string, unknown> {
  return {
    apiVersion: 'autoscaling.inferscale.dev/v1alpha1',
    kind: 'PodAutoscaler',
    metadata: { name, namespace: 'ns' },
    spec: {
      scaleTargetRef: deployment('llama-a10g'),
      maxReplicas: 10,
      scalingStrategy: 'OPTIMIZER',
      // Immediate scale-down, so each tick shows the plan itself.
      behavior: { scaleDown: { stabilizationWindowSeconds: 0 } },
      optimizer: {
        model: 'llama',
        headroom: 0,
        windowSeconds: 60,
        targets: [{ gpu: 'A10G' }, { gpu: 'H100', scaleTargetRef: deployment('llama-h100') }],
        ...optimizer,
      },
      ...spec,
    },
  };
}

export function groupPa(
  optimizer: Record<string, unknown> = {},
  spec: Record<string, unknown> = {},
): ResolvedPodAutoscaler {
  const r = resolvePodAutoscaler(groupSpec(optimizer, spec));
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

/**
 * Two Deployments (llama-a10g, llama-h100) with pods that follow their counts, token histograms,
 * a manual clock; `serve` lets every pod of the group (the `llama-` Deployments) finish `rps`
 * req/s in total for `seconds`.
 */
export function groupWorld(a10g = 1, h100 = 0) {
  const clock = new ManualClock(1_700_000_000_000);
  const cluster = new Cluster(clock);
  cluster.add('llama-a10g', a10g);
  cluster.add('llama-h100', h100);
  const tokens = new Tokens();
  const metrics = new TableMetricSource();
  const serve = (rps: number, seconds: number) => {
    const pods = [...cluster.deployments]
      .filter(([name]) => name.startsWith('llama-'))
      .flatMap(([, d]) => d.pods);
    for (const p of pods) tokens.finish(p, (rps * seconds) / pods.length);
    clock.advance(seconds * 1000);
  };
  return { clock, cluster, tokens, metrics, serve };
}
