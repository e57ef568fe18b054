/**
 * `inferscale controller`: the PodAutoscaler controller (see docs/controller.md).
 */
import { Command, Option } from 'commander';
import { createLogger } from '../../observability/log.js';
import { InferscaleMetrics } from '../../observability/metrics.js';
import { currentNamespace, loadKubeConfig } from '../../k8s/client.js';
import { startController } from '../../controller/controller.js';
import {
  collect,
  maybeHealthServer,
  parsePort,
  parsePositiveNumber,
  productionMetricSources,
  untilSignal,
} from '../../controller/runtime.js';

interface Flags {
  kubeconfig?: string;
  context?: string;
  inCluster?: boolean;
  namespace?: string;
  aibrixCompat?: boolean;
  period: number;
  dryRun?: boolean;
  leaderElect: boolean;
  leaseName: string;
  leaseNamespace?: string;
  scaleWriteMode: 'update' | 'patch';
  hpaMode: 'in-process' | 'native';
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

export const command = new Command('controller')
  .description('Run the PodAutoscaler controller (watches PodAutoscalers, scales their targets)')
  .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, then in-cluster)')
  .option('--context <name>', 'kubeconfig context')
  .option('--in-cluster', 'use the pod ServiceAccount even if a kubeconfig exists')
  .option('--namespace <ns>', 'watch PodAutoscalers and pods in this namespace only (default: all)')
  .option('--aibrix-compat', 'also serve autoscaling.aibrix.ai/v1alpha1 PodAutoscalers')
  .option('--period <seconds>', 'tick period per PodAutoscaler', parsePositiveNumber('--period'), 15)
  .option('--dry-run', 'shadow mode for every PodAutoscaler: decide and report, never write replicas')
  .option('--no-leader-elect', 'run without leader election (only one replica may run)')
  .option('--lease-name <name>', 'Lease used for leader election', 'inferscale-controller')
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
  .addOption(
    new Option(
      '--hpa-mode <mode>',
      'HPA strategy: in-process (the engine runs it) or native (a generated autoscaling/v2 HPA owned by the PodAutoscaler)',
    )
      .choices(['in-process', 'native'])
      .default('in-process'),
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
  .option('--no-events', 'do not record Kubernetes Events')
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
    const log = createLogger({ level: flags.logLevel, name: 'inferscale-controller' });
    const kc = loadKubeConfig({
      kubeconfig: flags.kubeconfig,
      context: flags.context,
      inCluster: flags.inCluster,
    });
    const metrics = new InferscaleMetrics();
    const sources = productionMetricSources(kc, metrics, flags);
    const leaseNamespace = flags.leaseNamespace ?? process.env.POD_NAMESPACE ?? currentNamespace(kc);
    const controller = await startController({
      kubeConfig: kc,
      namespace: flags.namespace,
      aibrixCompat: flags.aibrixCompat,
      periodMs: flags.period * 1000,
      dryRun: flags.dryRun,
      leaderElection: flags.leaderElect ? { namespace: leaseNamespace, name: flags.leaseName } : false,
      scaleWriteMode: flags.scaleWriteMode,
      hpaMode: flags.hpaMode,
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
      () => controller.ready(),
      metrics,
      log,
    );
    await untilSignal(async () => {
      await controller.stop();
      sources.close();
      await server?.close();
    }, log);
  });
