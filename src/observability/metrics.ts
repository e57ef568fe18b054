/**
 * inferscale's own Prometheus metrics. Names follow the Prometheus conventions: `inferscale_`
 * prefix, base units (seconds), `_total` for counters. The engine reports through the small API
 * below; `startHealthServer` (server.ts) serves the registry on /metrics.
 *
 *   inferscale_desired_replicas{namespace,name}             gauge
 *   inferscale_current_replicas{namespace,name}             gauge
 *   inferscale_decisions_total{namespace,name,reason}       counter
 *   inferscale_panic_mode{namespace,name}                   gauge, 1 while in panic
 *   inferscale_scrape_duration_seconds{source}              histogram (one observation per fetch)
 *   inferscale_scrapes_total{source}, inferscale_scrape_errors_total{source}   counters
 *   inferscale_tick_duration_seconds                        histogram
 *   inferscale_ticks_total, inferscale_tick_errors_total    counters
 * plus prom-client's default process_* and nodejs_* metrics.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface PodAutoscalerRef {
  namespace: string;
  name: string;
}

/** Decision reasons kept as distinct label values per PodAutoscaler; more become "other". */
const MAX_REASONS = 32;

export class InferscaleMetrics {
  readonly registry: Registry;
  private readonly desired: Gauge<'namespace' | 'name'>;
  private readonly current: Gauge<'namespace' | 'name'>;
  private readonly decisions: Counter<'namespace' | 'name' | 'reason'>;
  private readonly panic: Gauge<'namespace' | 'name'>;
  private readonly scrapeDuration: Histogram<'source'>;
  private readonly scrapes: Counter<'source'>;
  private readonly scrapeErrors: Counter<'source'>;
  private readonly tickDuration: Histogram;
  private readonly ticks: Counter;
  private readonly tickErrors: Counter;
  private readonly reasons = new Map<string, Set<string>>();

  constructor(opts: { registry?: Registry; defaultMetrics?: boolean } = {}) {
    this.registry = opts.registry ?? new Registry();
    const registers = [this.registry];
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    const perPodAutoscaler = (name: string, help: string) =>
      new Gauge({ name, help, labelNames: ['namespace', 'name'] as const, registers });
    this.desired = perPodAutoscaler(
      'inferscale_desired_replicas',
      'Replicas the last decision asked for, per PodAutoscaler.',
    );
    this.current = perPodAutoscaler(
      'inferscale_current_replicas',
      "The scale target's spec.replicas seen at the last decision, per PodAutoscaler.",
    );
    this.decisions = new Counter({
      name: 'inferscale_decisions_total',
      help: 'Decisions made, per PodAutoscaler and reason.',
      labelNames: ['namespace', 'name', 'reason'],
      registers,
    });
    this.panic = perPodAutoscaler(
      'inferscale_panic_mode',
      '1 while the PodAutoscaler is in KPA panic mode, else 0.',
    );
    this.scrapeDuration = new Histogram({
      name: 'inferscale_scrape_duration_seconds',
      help: 'Duration of one metric fetch (one pod page, one query, one endpoint), per source type.',
      labelNames: ['source'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.scrapes = new Counter({
      name: 'inferscale_scrapes_total',
      help: 'Metric fetches, per source type.',
      labelNames: ['source'],
      registers,
    });
    this.scrapeErrors = new Counter({
      name: 'inferscale_scrape_errors_total',
      help: 'Metric fetches that produced no value (timeout, HTTP error, unparsable, absent, invalid), per source type.',
      labelNames: ['source'],
      registers,
    });
    this.tickDuration = new Histogram({
      name: 'inferscale_tick_duration_seconds',
      help: 'Duration of one scaling tick (read, decide, write).',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.ticks = new Counter({ name: 'inferscale_ticks_total', help: 'Scaling ticks run.', registers });
    this.tickErrors = new Counter({
      name: 'inferscale_tick_errors_total',
      help: 'Scaling ticks that failed before a decision.',
      registers,
    });
  }

  /** Records one decision of one PodAutoscaler. `reason` should be a short code, not free text. */
  recordDecision(
    pa: PodAutoscalerRef,
    desired: number,
    current: number,
    reason: string,
    panic: boolean,
  ): void {
    const labels = { namespace: pa.namespace, name: pa.name };
    this.desired.set(labels, desired);
    this.current.set(labels, current);
    this.panic.set(labels, panic ? 1 : 0);
    const key = `${pa.namespace}/${pa.name}`;
    let seen = this.reasons.get(key);
    if (seen === undefined) this.reasons.set(key, (seen = new Set()));
    let r = reason === '' ? 'unknown' : reason;
    if (!seen.has(r)) {
      if (seen.size >= MAX_REASONS) r = 'other';
      else seen.add(r);
    }
    this.decisions.inc({ ...labels, reason: r });
  }

  /** One fetch of a metric source of type `source` (pod, resource, custom, external, prometheus). */
  observeScrape(source: string, seconds: number, ok: boolean): void {
    this.scrapeDuration.observe({ source }, seconds);
    this.scrapes.inc({ source });
    if (!ok) this.scrapeErrors.inc({ source });
  }

  observeTick(seconds: number, ok: boolean): void {
    this.tickDuration.observe(seconds);
    this.ticks.inc();
    if (!ok) this.tickErrors.inc();
  }

  /** Removes the series of a deleted PodAutoscaler. */
  forgetPodAutoscaler(pa: PodAutoscalerRef): void {
    const labels = { namespace: pa.namespace, name: pa.name };
    this.desired.remove(labels);
    this.current.remove(labels);
    this.panic.remove(labels);
    const key = `${pa.namespace}/${pa.name}`;
    for (const reason of this.reasons.get(key) ?? []) this.decisions.remove({ ...labels, reason });
    this.decisions.remove({ ...labels, reason: 'other' });
    this.reasons.delete(key);
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

let shared: InferscaleMetrics | undefined;

/** The process-wide instance used by the free functions below (created on first use). */
export function defaultMetrics(): InferscaleMetrics {
  return (shared ??= new InferscaleMetrics());
}

export function recordDecision(...args: Parameters<InferscaleMetrics['recordDecision']>): void {
  defaultMetrics().recordDecision(...args);
}

export function observeScrape(...args: Parameters<InferscaleMetrics['observeScrape']>): void {
  defaultMetrics().observeScrape(...args);
}

export function observeTick(...args: Parameters<InferscaleMetrics['observeTick']>): void {
  defaultMetrics().observeTick(...args);
}
