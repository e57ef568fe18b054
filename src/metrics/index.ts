/**
 * The metrics path: exposition parser, signal catalogue, and the metric sources the engine reads
 * through one `MetricSource` (see docs/metrics.md).
 */
export {
  parseExposition,
  findFamily,
  valueSamples,
  formatFromContentType,
  ExpositionError,
  type Exposition,
  type ExpositionFormat,
  type MetricFamily,
  type MetricType,
  type Sample,
  type HistogramSeries,
  type SummarySeries,
  type ParseOptions,
} from './exposition.js';
export {
  resolveTargetMetric,
  familiesOf,
  listedSignals,
  SIGNALS,
  type ResolvedMetric,
  type Reader,
  type SignalDefinition,
} from './catalogue.js';
export {
  takeSnapshot,
  evaluate,
  readSignal,
  histogramQuantile,
  type Snapshot,
  type SignalValue,
  type MissingReason,
} from './signals.js';
export { PodScraper, type PodScraperOptions } from './pod-scraper.js';
export { PrometheusSource, substituteQuery, type PrometheusSourceOptions } from './prometheus-source.js';
export {
  ResourceSource,
  CustomMetricsSource,
  kubeGet,
  parseQuantity,
  type KubeGet,
  type ResourceRequests,
  type ResourceSourceOptions,
} from './resource-source.js';
export { ExternalSource, externalUrl, type ExternalSourceOptions } from './external-source.js';
export { EgressPolicy, type EgressPolicyOptions } from './ssrf.js';
export {
  MetricSources,
  createMetricSources,
  type CreateMetricSourcesOptions,
  type ProductionSources,
  type SourceType,
} from './sources.js';
export { scrapeReport, formatReport, type ScrapeReport, type ScrapeOptions } from './inspect.js';
