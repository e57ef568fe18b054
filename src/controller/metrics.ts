/**
 * The controller's and daemon's Prometheus series. Per-decision series (notably
 * `inferscale_desired_replicas{namespace,name}`, the contract for KEDA or an HPA acting on
 * inferscale's decisions in shadow mode) come from the shared InferscaleMetrics; this adds what
 * only a long-running Kubernetes process has: scale writes, PodAutoscaler states, leadership.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { InferscaleMetrics } from '../observability/metrics.js';

export class AutoscalerMetrics {
  readonly registry: Registry;
  readonly scaleWrites: Counter<'namespace' | 'name' | 'result'>;
  readonly podAutoscalers: Gauge<'state'>;
  readonly leader: Gauge;
  readonly configReloads: Counter<'result'>;

  constructor(readonly shared: InferscaleMetrics = new InferscaleMetrics()) {
    this.registry = shared.registry;
    const registers = [this.registry];
    this.scaleWrites = new Counter({
      name: 'inferscale_scale_writes_total',
      help: 'Replica writes to scale targets, by result (success, error).',
      labelNames: ['namespace', 'name', 'result'],
      registers,
    });
    this.podAutoscalers = new Gauge({
      name: 'inferscale_podautoscalers',
      help: 'PodAutoscalers known to this process, by state (known, invalid, conflict).',
      labelNames: ['state'],
      registers,
    });
    this.leader = new Gauge({
      name: 'inferscale_leader',
      help: '1 while this process holds the leader lease (or runs without leader election), else 0.',
      registers,
    });
    this.configReloads = new Counter({
      name: 'inferscale_config_reloads_total',
      help: 'Daemon configuration (re)loads, by result (success, error).',
      labelNames: ['result'],
      registers,
    });
  }

  forget(namespace: string, name: string): void {
    this.shared.forgetPodAutoscaler({ namespace, name });
  }
}
