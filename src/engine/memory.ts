/**
 * In-memory implementations of the four seams: what `inferscale decide` and the unit tests plug
 * into the engine. They hold exactly what they were told and nothing else.
 */
import type { MetricSample } from '../../algorithms/types.js';
import type { ScaleTargetRef } from '../api/resolved.js';
import type {
  Clock,
  MetricReading,
  MetricRequest,
  MetricSource,
  PodInfo,
  PodSource,
  ScaleState,
  ScaleTarget,
} from './seams.js';

export class ManualClock implements Clock {
  constructor(private ms = 0) {}
  now(): number {
    return this.ms;
  }
  set(ms: number): void {
    this.ms = ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

export class MemoryPodSource implements PodSource {
  pods: PodInfo[] = [];
  async list(namespace: string): Promise<PodInfo[]> {
    return this.pods.filter((p) => p.namespace === namespace);
  }
}

export class MemoryScaleTarget implements ScaleTarget {
  readonly writes: { replicas: number }[] = [];
  constructor(public state: ScaleState = { replicas: 1, selector: 'app=inference' }) {}
  async get(): Promise<ScaleState> {
    return { ...this.state };
  }
  async set(_ns: string, _ref: ScaleTargetRef, replicas: number): Promise<void> {
    this.state = { ...this.state, replicas };
    this.writes.push({ replicas });
  }
}

/** Values by pod name then metric name, and global values by metric name. */
export class TableMetricSource implements MetricSource {
  podValues = new Map<string, Record<string, number | null | undefined>>();
  globalValues: Record<string, number | null | undefined> = {};

  async read(req: MetricRequest): Promise<MetricReading> {
    const metric = req.source.targetMetric;
    if (req.source.type === 'external' || req.source.type === 'prometheus') {
      const v = this.globalValues[metric];
      return typeof v === 'number' && Number.isFinite(v)
        ? { sample: { scope: 'global', value: v }, errors: [] }
        : { sample: undefined, errors: [`no value for ${metric}`] };
    }
    const errors: string[] = [];
    const pods = req.pods.map((p) => {
      const v = this.podValues.get(p.name)?.[metric];
      if (typeof v !== 'number' || !Number.isFinite(v)) errors.push(`pod ${p.name}: no value for ${metric}`);
      return { pod: p.name, ready: true, value: typeof v === 'number' && Number.isFinite(v) ? v : undefined };
    });
    const sample: MetricSample = { scope: 'pods', pods };
    return { sample, errors };
  }
}
