/**
 * Process plumbing shared by `inferscale controller` and `inferscale daemon`: the production metric
 * sources, the health/metrics server, and graceful shutdown on SIGTERM/SIGINT.
 */
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from '../observability/log.js';
import type { InferscaleMetrics } from '../observability/metrics.js';
import { startHealthServer, type HealthServer } from '../observability/server.js';
import { createMetricSources, type ProductionSources } from '../metrics/sources.js';

export interface MetricFlags {
  prometheusUrl?: string;
  externalAllowHost?: string[];
  externalAllowCidr?: string[];
}

export function productionMetricSources(
  kc: k8s.KubeConfig,
  metrics: InferscaleMetrics,
  flags: MetricFlags,
): ProductionSources {
  return createMetricSources({
    kubeConfig: kc,
    ...(flags.prometheusUrl ? { prometheus: { endpoint: flags.prometheusUrl } } : {}),
    egress: { allowHosts: flags.externalAllowHost ?? [], allowCidrs: flags.externalAllowCidr ?? [] },
    observeScrape: (source, seconds, ok) => metrics.observeScrape(source, seconds, ok),
  });
}

export async function maybeHealthServer(
  port: number | undefined,
  host: string | undefined,
  ready: () => boolean,
  metrics: InferscaleMetrics,
  log: Logger,
): Promise<HealthServer | undefined> {
  if (port === undefined || port < 0) return undefined;
  const server = await startHealthServer({ port, host, ready, metrics });
  log.info({ url: server.url }, 'serving /metrics, /healthz, /readyz');
  return server;
}

/**
 * Resolves when SIGTERM or SIGINT arrives, after `stop` finished (bounded by `graceMs`). A second
 * signal exits at once.
 */
export function untilSignal(stop: () => Promise<void>, log: Logger, graceMs = 25_000): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      stopping = true;
      log.info({ signal }, 'shutting down');
      const hard = setTimeout(() => {
        log.error({ graceMs }, 'shutdown did not finish in time; exiting');
        process.exit(1);
      }, graceMs);
      hard.unref();
      stop().then(
        () => {
          clearTimeout(hard);
          process.off('SIGTERM', onSignal);
          process.off('SIGINT', onSignal);
          resolve();
        },
        (err: unknown) => {
          log.error({ err: err instanceof Error ? err.message : String(err) }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

export function parsePositiveNumber(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} must be a positive number; got "${value}"`);
    return n;
  };
}

/** Like parsePositiveNumber, with 0 allowed (the flag's "off"). */
export function parseNonNegativeNumber(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0) {
      throw new Error(`${flag} must be a number of seconds, 0 or more; got "${value}"`);
    }
    return n;
  };
}

export function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < -1 || n > 65535)
    throw new Error(`--metrics-port must be 0..65535 (or -1 to disable); got "${value}"`);
  return n;
}

export function collect(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  ];
}
