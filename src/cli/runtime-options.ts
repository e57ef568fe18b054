/**
 * What `inferscale controller` and `inferscale daemon` share: the flags of a long-running scaling
 * process (kubeconfig, tick period, leader election, metrics server, metric sources, logging) and
 * its start-up and graceful shutdown. Each command adds its own flags in the slots below, so its
 * help keeps one reading order.
 */
import { Option, type Command } from 'commander';
import { createLogger } from '../observability/log.js';
import { InferscaleMetrics } from '../observability/metrics.js';
import { currentNamespace, loadKubeConfig } from '../k8s/client.js';
import type { ProductionSources } from '../metrics/sources.js';
import {
  collect,
  maybeHealthServer,
  parsePort,
  parsePositiveNumber,
  productionMetricSources,
  untilSignal,
} from '../controller/runtime.js';
import type { ScalingLoopHandle, ScalingLoopOptions } from '../controller/loop-parts.js';

export interface RuntimeFlags {
  kubeconfig?: string;
  context?: string;
  inCluster?: boolean;
  period: number;
  dryRun?: boolean;
  /** Always set by `--no-leader-elect` (default true); only when given by `--leader-elect`. */
  leaderElect?: boolean;
  leaseName: string;
  leaseNamespace?: string;
  scaleWriteMode: 'update' | 'patch';
  metricsPort: number;
  metricsHost?: string;
  podLabelSelector?: string;
  concurrency: number;
  events: boolean;
  prometheusUrl?: string;
  externalAllowHost?: string[];
  externalAllowCidr?: string[];
  logLevel?: string;
}

/** The flags whose meaning differs between the commands. */
export interface RuntimeOptionSlots {
  /** What the process watches; listed after the kubeconfig flags. */
  scope: readonly Option[];
  /** Help of `--dry-run`. */
  dryRun: string;
  /** `--leader-elect` (opt-in) or `--no-leader-elect` (opt-out). */
  leaderElect: Option;
  /** Default of `--lease-name`. */
  leaseName: string;
  /** Further modes; listed after `--scale-write-mode`. */
  modes?: readonly Option[];
  /** Help of `--no-events`. */
  events: string;
}

export function addRuntimeOptions(cmd: Command, slots: RuntimeOptionSlots): Command {
  cmd
    .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, then in-cluster)')
    .option('--context <name>', 'kubeconfig context')
    .option('--in-cluster', 'use the pod ServiceAccount even if a kubeconfig exists');
  for (const o of slots.scope) cmd.addOption(o);
  cmd
    .option('--period <seconds>', 'tick period per PodAutoscaler', parsePositiveNumber('--period'), 15)
    .option('--dry-run', slots.dryRun)
    .addOption(slots.leaderElect)
    .option('--lease-name <name>', 'Lease used for leader election', slots.leaseName)
    .option(
      '--lease-namespace <ns>',
      'namespace of the Lease (default: $POD_NAMESPACE, else the context namespace)',
    )
    .addOption(
      new Option(
        '--scale-write-mode <mode>',
        'update: PUT with resourceVersion, retry harmless conflicts; patch: merge-patch',
      )
        .choices(['update', 'patch'])
        .default('update'),
    );
  for (const o of slots.modes ?? []) cmd.addOption(o);
  return cmd
    .option('--metrics-port <port>', 'port of /metrics, /healthz, /readyz (-1 disables)', parsePort, 8080)
    .option('--metrics-host <host>', 'address to bind the metrics server', '0.0.0.0')
    .option('--pod-label-selector <selector>', 'only watch pods matching this label selector')
    .option(
      '--concurrency <n>',
      'PodAutoscalers ticking at the same time',
      parsePositiveNumber('--concurrency'),
      8,
    )
    .option('--no-events', slots.events)
    .option('--prometheus-url <url>', 'Prometheus for `prometheus` metric sources that name no endpoint')
    .option(
      '--external-allow-host <hosts>',
      'hosts `external` metric sources may fetch (repeatable, comma-separated; *.suffix allowed)',
      collect,
    )
    .option(
      '--external-allow-cidr <cidrs>',
      'address ranges `external` metric sources may fetch (repeatable, comma-separated)',
      collect,
    )
    .option('--log-level <level>', 'pino log level (default: $INFERSCALE_LOG_LEVEL or info)');
}

/** The options the controller and the daemon take alike, built from the shared flags. */
export type SharedLoopOptions = ScalingLoopOptions & { metrics: ProductionSources };

/** The Lease to take; undefined when leader election is off. */
export type LeaseFlags = { namespace: string; name: string } | undefined;

/**
 * Starts the process (logger, kubeconfig, metric sources, then `start`, then the health server)
 * and resolves after a graceful shutdown on SIGTERM/SIGINT.
 */
export async function runUntilSignal(
  flags: RuntimeFlags,
  name: string,
  start: (shared: SharedLoopOptions, lease: LeaseFlags) => Promise<Pick<ScalingLoopHandle, 'ready' | 'stop'>>,
): Promise<void> {
  const log = createLogger({ level: flags.logLevel, name });
  const kc = loadKubeConfig({
    kubeconfig: flags.kubeconfig,
    context: flags.context,
    inCluster: flags.inCluster,
  });
  const metrics = new InferscaleMetrics();
  const sources = productionMetricSources(kc, metrics, flags);
  const leaseNamespace = flags.leaseNamespace ?? process.env.POD_NAMESPACE ?? currentNamespace(kc);
  const loop = await start(
    {
      kubeConfig: kc,
      periodMs: flags.period * 1000,
      dryRun: flags.dryRun,
      scaleWriteMode: flags.scaleWriteMode,
      metrics: sources,
      metricsRegistry: metrics,
      podLabelSelector: flags.podLabelSelector,
      concurrency: flags.concurrency,
      events: flags.events,
      log,
    },
    flags.leaderElect ? { namespace: leaseNamespace, name: flags.leaseName } : undefined,
  );
  const server = await maybeHealthServer(
    flags.metricsPort,
    flags.metricsHost,
    () => loop.ready(),
    metrics,
    log,
  );
  await untilSignal(async () => {
    await loop.stop();
    sources.close();
    await server?.close();
  }, log);
}
