/**
 * One `MetricSource` for the engine: dispatches each read on `source.type` to the fetcher of that
 * type. `createMetricSources` wires the production fetchers from operator settings.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { MetricReading, MetricRequest, MetricSource } from '../engine/seams.js';
import { ExternalSource, type ExternalSourceOptions } from './external-source.js';
import { PodScraper, type PodScraperOptions } from './pod-scraper.js';
import { PrometheusSource, type PrometheusSourceOptions } from './prometheus-source.js';
import {
  CustomMetricsSource,
  kubeGet,
  ResourceSource,
  type ResourceSourceOptions,
} from './resource-source.js';
import { EgressPolicy, type EgressPolicyOptions } from './ssrf.js';

export type SourceType = MetricRequest['source']['type'];

export class MetricSources implements MetricSource {
  constructor(
    private readonly byType: Partial<Record<SourceType, MetricSource>>,
    private readonly hint: Partial<Record<SourceType, string>> = {},
  ) {}

  read(req: MetricRequest): Promise<MetricReading> {
    const type = req.source.type;
    const source = this.byType[type];
    if (source === undefined) {
      const why = this.hint[type] ?? 'no fetcher configured';
      return Promise.resolve({
        sample: undefined,
        errors: [`${type} metric sources are not available: ${why}`],
      });
    }
    return source.read(req);
  }
}

export interface CreateMetricSourcesOptions {
  /** Enables `resource` and `custom` sources (metrics.k8s.io, custom.metrics.k8s.io). */
  kubeConfig?: KubeConfig;
  /** Default Prometheus URL for `prometheus` sources that give no endpoint. */
  prometheus?: PrometheusSourceOptions;
  /** Egress allowlist of `external` sources; without one, every external endpoint is refused. */
  egress?: EgressPolicyOptions;
  external?: Omit<ExternalSourceOptions, 'egress' | 'onScrape'>;
  pod?: Omit<PodScraperOptions, 'onScrape'>;
  resource?: Omit<ResourceSourceOptions, 'api' | 'onScrape'>;
  /** Called per fetch: `source` is the metric source type (for inferscale_scrape_* metrics). */
  observeScrape?: (source: SourceType, seconds: number, ok: boolean) => void;
}

export interface ProductionSources extends MetricSource {
  pod: PodScraper;
  /** Drops per-PodAutoscaler state (deleted PodAutoscaler). */
  forget(owner: { namespace: string; name: string }): void;
  close(): void;
}

export function createMetricSources(opts: CreateMetricSourcesOptions = {}): ProductionSources {
  const observe =
    (type: SourceType) =>
    (seconds: number, ok: boolean): void =>
      opts.observeScrape?.(type, seconds, ok);
  const pod = new PodScraper({ ...opts.pod, onScrape: observe('pod') });
  const external = new ExternalSource({
    ...opts.external,
    egress: new EgressPolicy(opts.egress ?? {}),
    onScrape: observe('external'),
  });
  const prometheus = new PrometheusSource({ ...opts.prometheus, onScrape: observe('prometheus') });
  const byType: Partial<Record<SourceType, MetricSource>> = { pod, external, prometheus };
  const hint: Partial<Record<SourceType, string>> = {};
  if (opts.kubeConfig !== undefined) {
    const api = kubeGet(opts.kubeConfig);
    byType.resource = new ResourceSource({ ...opts.resource, api, onScrape: observe('resource') });
    byType.custom = new CustomMetricsSource({ api, onScrape: observe('custom') });
  } else {
    hint.resource = hint.custom = 'no Kubernetes configuration was given to the metric sources';
  }
  const dispatcher = new MetricSources(byType, hint);
  return {
    pod,
    read: (req) => dispatcher.read(req),
    forget: (owner) => pod.forget(owner),
    close: () => {
      pod.close();
      external.close();
    },
  };
}
