/**
 * Adapts the product's vLLM replica model (simulator/model/replica.ts) to the cluster's narrow
 * `SimReplica` contract. Times are virtual ms from the trace start on both sides.
 */
import { ReplicaModel, type ReplicaOptions } from '../model/replica.js';
import {
  catalog,
  gpuSpec,
  modelSpec,
  replicaPricePerHour,
  resolveDeployment,
  type Deployment,
} from '../model/hardware.js';
import type { Completion, ReplicaFactory, ReplicaSignals, SimReplica, SimRequest } from './replica.js';

/** The replica model behind the cluster's `SimReplica` contract. */
export class ModelReplica implements SimReplica {
  constructor(readonly model: ReplicaModel) {}

  enqueue(req: SimRequest, nowMs: number): void {
    this.model.enqueue(req, nowMs);
  }

  nextEventTime(): number | undefined {
    return this.model.nextEventTime();
  }

  advanceTo(nowMs: number, onComplete: (c: Completion) => void): void {
    const events = this.model.advanceTo(nowMs);
    for (const e of events) {
      if (e.type === 'finished') {
        const r = e.result;
        onComplete({
          id: r.id as number,
          firstTokenMs: r.arrivalMs + r.ttftMs,
          finishMs: r.arrivalMs + r.e2eMs,
          outputTokens: r.outputTokens,
        });
      } else if (e.type === 'rejected') {
        onComplete({
          id: e.id as number,
          firstTokenMs: e.timeMs,
          finishMs: e.timeMs,
          outputTokens: 0,
          rejected: e.reason,
        });
      }
    }
  }

  kvUsage(): number {
    return this.model.kvCacheUsage;
  }

  signals(): ReplicaSignals {
    const m = this.model;
    const st = m.stats;
    return {
      running: m.numRunning,
      waiting: m.numWaiting,
      kvUsage: m.kvCacheUsage,
      promptTokens: st.promptTokens,
      generationTokens: st.generationTokens,
      requestsFinished: st.success.stop + st.success.length + st.success.abort,
      preemptions: st.preemptions,
      prefixQueries: st.prefixQueries,
      prefixHits: st.prefixHits,
      ttft: st.ttft,
      itl: st.itl,
      e2e: st.e2e,
    };
  }

  renderMetrics(nowMs: number): string {
    return this.model.renderMetrics('vllm-v1', { nowMs });
  }
}

export interface ModelFactoryOptions {
  /** GPU name or alias from config/gpus.yaml. */
  gpu: string;
  /** Model name, alias or Hugging Face id from config/models.yaml. */
  model: string;
  /** Deployment and engine options (tp, max model len, ...). */
  replica?: ReplicaOptions;
  /** USD per GPU-hour; default the catalogue's price for the GPU. */
  gpuPricePerHour?: number;
}

/** Replicas of one (GPU, model) deployment backed by the product's replica model. */
export function modelReplicaFactory(opts: ModelFactoryOptions): ReplicaFactory & { deployment: Deployment } {
  return catalogReplicaFactory(opts, (m) => new ModelReplica(m));
}

/**
 * The catalogue's (GPU, model) deployment, priced, with replicas built by `wrap` around a fresh
 * replica model. `pricePerReplicaHour` wins over `gpuPricePerHour`; `missingPriceHint` ends the
 * error when neither is given and the catalogue has no price.
 */
export function catalogReplicaFactory(
  opts: ModelFactoryOptions & { pricePerReplicaHour?: number; missingPriceHint?: string },
  wrap: (model: ReplicaModel) => SimReplica,
): ReplicaFactory & { deployment: Deployment } {
  const cat = catalog();
  const gpu = gpuSpec(opts.gpu, cat);
  const model = modelSpec(opts.model, cat);
  const replicaOpts: ReplicaOptions = { emitFirstTokenEvents: false, ...opts.replica };
  const deployment = resolveDeployment(gpu, model, replicaOpts);
  const price =
    opts.pricePerReplicaHour ??
    (opts.gpuPricePerHour !== undefined
      ? opts.gpuPricePerHour * deployment.tp
      : replicaPricePerHour(deployment));
  if (price === undefined) {
    throw new Error(
      `config/gpus.yaml has no price for ${gpu.name}; ${opts.missingPriceHint ?? 'give one with --gpu-price <usd-per-gpu-hour>'}`,
    );
  }
  return {
    deployment,
    description: { gpu: gpu.name, model: model.name, tp: deployment.tp },
    gpusPerReplica: deployment.tp,
    pricePerReplicaHour: price,
    create: (_name, startMs) => wrap(new ReplicaModel(gpu, model, { ...replicaOpts, startMs })),
  };
}
