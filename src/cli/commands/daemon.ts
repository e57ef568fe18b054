/**
 * `inferscale daemon --config targets.yaml`: the scaling loop over PodAutoscalers listed in a file,
 * without the CRD (see docs/daemon.md).
 */
import { Command, Option } from 'commander';
import { createLogger } from '../../observability/log.js';
import { InferscaleMetrics } from '../../observability/metrics.js';
import { currentNamespace, loadKubeConfig } from '../../k8s/client.js';
import { startDaemon } from '../../daemon/daemon.js';
import {
  collect,
  maybeHealthServer,
  parsePort,
  parsePositiveNumber,
  productionMetricSources,
  untilSignal,
} from '../../controller/runtime.js';

interface Flags {
  config: string;
  kubeconfig?: string;
  context?: string;
  inCluster?: boolean;
  namespace?: string;
  podNamespace?: string;
  period: number;
  dryRun?: boolean;
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

export const command = new Command('daemon')
  .description(
    'Scale the targets of PodAutoscalers listed in a file (no CRD needed); reloads the file on change',
  )
  .requiredOption('--config <file>', 'YAML/JSON file of PodAutoscaler objects (documents, or a List)')
  .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, then in-cluster)')
  .option('--context <name>', 'kubeconfig context')
  .option('--in-cluster', 'use the pod ServiceAccount even if a kubeconfig exists')
  .option('--namespace <ns>', 'namespace for objects that name none (default: the context namespace)')
  .option('--pod-namespace <ns>', 'watch pods in this namespace only (default: all namespaces)')
  .option('--period <seconds>', 'tick period per PodAutoscaler', parsePositiveNumber('--period'), 15)
  .option('--dry-run', 'decide and report, never write replicas')
  .option('--leader-elect', 'take a Lease before acting (to run two daemons on one file)')
  .option('--lease-name <name>', 'Lease used for leader election', 'inferscale-daemon')
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
  )
  .option('--metrics-port <port>', 'port of /metrics, /healthz, /readyz (-1 disables)', parsePort, 8080)
  .option('--metrics-host <host>', 'address to bind the metrics server', '0.0.0.0')
  .option('--pod-label-selector <selector>', 'only watch pods matching this label selector')
  .option(
    '--concurrency <n>',
    'PodAutoscalers ticking at the same time',
    parsePositiveNumber('--concurrency'),
    8,
  )
  .option('--no-events', 'do not record Kubernetes Events on the scale targets')
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
  .option('--log-level <level>', 'pino log level (default: $INFERSCALE_LOG_LEVEL or info)')
  .action(async (flags: Flags) => {
    const log = createLogger({ level: flags.logLevel, name: 'inferscale-daemon' });
    const kc = loadKubeConfig({
      kubeconfig: flags.kubeconfig,
      context: flags.context,
      inCluster: flags.inCluster,
    });
    const metrics = new InferscaleMetrics();
    const sources = productionMetricSources(kc, metrics, flags);
    const leaseNamespace = flags.leaseNamespace ?? process.env.POD_NAMESPACE ?? currentNamespace(kc);
    const daemon = await startDaemon({
      kubeConfig: kc,
      configPath: flags.config,
      defaultNamespace: flags.namespace,
      podNamespace: flags.podNamespace,
      periodMs: flags.period * 1000,
      dryRun: flags.dryRun,
      leaderElection: flags.leaderElect ? { namespace: leaseNamespace, name: flags.leaseName } : undefined,
      scaleWriteMode: flags.scaleWriteMode,
      metrics: sources,
      metricsRegistry: metrics,
      podLabelSelector: flags.podLabelSelector,
      concurrency: flags.concurrency,
      events: flags.events,
      log,
    });
    const server = await maybeHealthServer(
      flags.metricsPort,
      flags.metricsHost,
      () => daemon.ready(),
      metrics,
      log,
    );
    await untilSignal(async () => {
      await daemon.stop();
      sources.close();
      await server?.close();
    }, log);
  });
