/**
 * The engine's four seams, implemented over the virtual cluster: the simulator runs the production
 * ScalingEngine unchanged and only these adapters know that time, pods and metrics are simulated.
 */
import type { ScaleTargetRef } from '../../src/api/resolved.js';
import type {
  Clock,
  MetricReading,
  MetricRequest,
  MetricSource,
  PodInfo,
  PodSource,
  ScaleState,
  ScaleTarget,
} from '../../src/engine/seams.js';
import type { PodSample } from '../../algorithms/types.js';
import { familiesOf, resolveTargetMetric, type ResolvedMetric } from '../../src/metrics/catalogue.js';
import { parseExposition } from '../../src/metrics/exposition.js';
import { evaluate, takeSnapshot, type Snapshot } from '../../src/metrics/signals.js';
import type { VirtualCluster } from './cluster.js';
import {
  directReaderFor,
  evaluateDirect,
  takeDirectSnapshot,
  type DirectSnapshot,
} from './direct-signals.js';

/** Virtual time: ms from the trace start, anchored at `epochMs` for the engine (schedules, logs). */
export class VirtualClock implements Clock {
  simMs = 0;
  constructor(readonly epochMs: number) {}
  now(): number {
    return this.epochMs + this.simMs;
  }
}

export const SIM_SELECTOR = 'app=sim';

export class VirtualPodSource implements PodSource {
  constructor(
    private readonly cluster: VirtualCluster,
    private readonly epochMs: number,
  ) {}

  /** One simulated scale target per cluster: every pod belongs to it, whatever the namespace. */
  async list(namespace: string): Promise<PodInfo[]> {
    return listPods(this.cluster, namespace, this.epochMs, 0, { app: 'sim' });
  }
}

/**
 * The cluster's pods that still exist, as the engine's PodSource reports them. `subnet` (the third
 * octet of 10.x.y.z) keeps the addresses of several clusters apart.
 */
export function listPods(
  cluster: VirtualCluster,
  namespace: string,
  epochMs: number,
  subnet: number,
  labels: Readonly<Record<string, string>>,
): PodInfo[] {
  const out: PodInfo[] = [];
  for (const p of cluster.pods) {
    if (p.phase === 'gone') continue;
    out.push({
      name: p.name,
      namespace,
      ip: `10.${subnet}.${(p.order >> 8) & 255}.${p.order & 255}`,
      phase: 'Running',
      ready: p.phase !== 'starting',
      terminating: p.phase === 'draining',
      labels: { ...labels },
      createdAtMs: epochMs + p.createdMs,
    });
  }
  return out;
}

export class VirtualScaleTarget implements ScaleTarget {
  constructor(
    private readonly cluster: VirtualCluster,
    private readonly clock: VirtualClock,
  ) {}

  async get(): Promise<ScaleState> {
    return { replicas: this.cluster.desired, selector: SIM_SELECTOR, statusReplicas: this.cluster.liveCount };
  }

  async set(_namespace: string, _ref: ScaleTargetRef, replicas: number): Promise<void> {
    this.cluster.setDesired(replicas, this.clock.simMs);
  }
}

/** One disagreement between the direct value and the value read through the production parser. */
export interface VerifyMismatch {
  timeMs: number;
  pod: string;
  metric: string;
  direct: number | string;
  parsed: number | string;
}

export interface VerifyStats {
  comparisons: number;
  mismatches: number;
  /** The first few, for the report. */
  examples: VerifyMismatch[];
}

const MAX_EXAMPLES = 20;

interface Cached {
  metric: ResolvedMetric;
  families: Set<string>;
}

/**
 * Per-pod signals from the replicas. Normally computed directly from each replica's numbers; with
 * `verify`, every read also renders the replica's `/metrics` page, parses it with the production
 * parser and reads the signal with the production catalogue, and counts disagreements. Metrics the
 * direct path does not know (raw families) are always read through the page. `external` and
 * `prometheus` sources go to the gateway's source (gateway-metrics.ts).
 */
export class VirtualMetricSource implements MetricSource {
  readonly verifyStats: VerifyStats = { comparisons: 0, mismatches: 0, examples: [] };
  private readonly resolved = new Map<string, Cached>();
  private readonly directBase = new Map<string, DirectSnapshot>();
  private readonly pageBase = new Map<string, Snapshot>();

  constructor(
    private readonly cluster: VirtualCluster,
    private readonly clock: VirtualClock,
    private readonly verify = false,
    /** Answers `external` and `prometheus` sources (the gateway's series); none in group runs. */
    private readonly gateway?: MetricSource,
  ) {}

  private metricFor(name: string): Cached {
    let c = this.resolved.get(name);
    if (c === undefined) {
      const metric = resolveTargetMetric(name);
      c = { metric, families: new Set(familiesOf(metric)) };
      this.resolved.set(name, c);
    }
    return c;
  }

  async read(req: MetricRequest): Promise<MetricReading> {
    const { source } = req;
    if (source.type === 'external' || source.type === 'prometheus') {
      if (this.gateway !== undefined) return this.gateway.read(req);
      return {
        sample: undefined,
        errors: [
          `${source.type} metric sources read the simulated gateway in single-pool runs only; use a pod metric (targetMetric ${source.targetMetric})`,
        ],
      };
    }
    let cached: Cached;
    try {
      cached = this.metricFor(source.targetMetric);
    } catch (err) {
      return { sample: undefined, errors: [err instanceof Error ? err.message : String(err)] };
    }
    const { metric } = cached;
    const reader = directReaderFor(metric);
    const owner = `${req.owner.namespace}/${req.owner.name}|${source.targetMetric}|`;
    const simMs = this.clock.simMs;
    const errors: string[] = [];
    const pods: PodSample[] = [];
    for (const info of req.pods) {
      const pod = this.cluster.pod(info.name);
      const replica = pod?.replica;
      if (replica === undefined) {
        errors.push(`pod ${info.name}: not serving`);
        pods.push({ pod: info.name, ready: true, value: undefined });
        continue;
      }
      const key = owner + info.name;
      let value: number | undefined;
      let message: string | undefined;
      if (reader !== undefined) {
        const snap = takeDirectSnapshot(reader, replica.signals(), simMs);
        const v = evaluateDirect(metric, reader, snap, this.directBase.get(key));
        this.directBase.set(key, snap);
        if (v.ok) value = v.value;
        else message = v.message;
      }
      if (reader === undefined || this.verify) {
        const parsed = this.readPage(cached, key, replica.renderMetrics(simMs), simMs);
        if (reader === undefined) {
          if (parsed.ok) value = parsed.value;
          else message = parsed.message;
        } else {
          this.compare(simMs, info.name, metric.input, value, message, parsed);
        }
      }
      if (value === undefined) errors.push(`pod ${info.name}: ${message ?? 'no value'}`);
      pods.push({ pod: info.name, ready: true, value });
    }
    return { sample: { scope: 'pods', pods }, errors };
  }

  private readPage(
    cached: Cached,
    key: string,
    text: string,
    simMs: number,
  ): { ok: true; value: number } | { ok: false; message: string } {
    let page;
    try {
      page = parseExposition(text, { wantFamily: (f) => cached.families.has(f) });
    } catch (err) {
      return {
        ok: false,
        message: `/metrics does not parse: ${err instanceof Error ? err.message : String(err)}`,
      };
    }
    const snap = takeSnapshot(cached.metric, page, { atMs: simMs });
    if (!snap.ok) return { ok: false, message: snap.message };
    const v = evaluate(cached.metric, snap.snapshot, this.pageBase.get(key));
    this.pageBase.set(key, snap.snapshot);
    return v.ok ? { ok: true, value: v.value } : { ok: false, message: v.message };
  }

  private compare(
    timeMs: number,
    pod: string,
    metric: string,
    direct: number | undefined,
    directMessage: string | undefined,
    parsed: { ok: true; value: number } | { ok: false; message: string },
  ): void {
    const s = this.verifyStats;
    s.comparisons++;
    const pv = parsed.ok ? parsed.value : undefined;
    const same =
      direct === undefined
        ? pv === undefined
        : pv !== undefined && Math.abs(direct - pv) <= 1e-9 * Math.max(1, Math.abs(direct), Math.abs(pv));
    if (same) return;
    s.mismatches++;
    if (s.examples.length < MAX_EXAMPLES) {
      s.examples.push({
        timeMs,
        pod,
        metric,
        direct: direct ?? `missing (${directMessage ?? '?'})`,
        parsed: pv ?? `missing (${parsed.ok ? '?' : parsed.message})`,
      });
    }
  }
}
