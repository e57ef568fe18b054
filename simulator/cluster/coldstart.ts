/**
 * Cold-start delay of a new replica: from pod creation to Ready. Built from the per-phase medians
 * of the GPU and model catalogues (reference §4): image pull, weight load (weights per GPU over the
 * load bandwidth, plus a fixed part), engine init, first-request warm-up, and node provisioning when
 * the pool is cold. Each phase is drawn from a log-normal with the catalogue's coefficient of
 * variation, from the simulation's seeded generator.
 */
import type { ColdStartPhases, Deployment } from '../model/hardware.js';
import type { Rng } from '../traces/rng.js';

export interface ColdStartSampler {
  /** One delay, ms. */
  draw(): number;
  /** Expected delay, ms (the oracle starts replicas this far ahead of need). */
  readonly meanMs: number;
  /** Human-readable summary for the report. */
  readonly description: string;
}

/** The same delay every time (tests, `--cold-start 60s`). */
export function fixedColdStart(ms: number): ColdStartSampler {
  if (!(ms >= 0 && Number.isFinite(ms)))
    throw new Error(`cold start must be a finite duration >= 0, got ${ms} ms`);
  return { draw: () => ms, meanMs: ms, description: `fixed ${(ms / 1000).toFixed(1)} s` };
}

export type ColdStartMode = 'cached' | 'uncached';

interface Phase {
  name: string;
  meanS: number;
}

export function coldStartPhases(
  deployment: Pick<Deployment, 'gpu' | 'model' | 'weightBytesPerGpu'>,
  defaults: ColdStartPhases,
  mode: ColdStartMode,
): { phases: Phase[]; cv: number } {
  const p: ColdStartPhases = { ...defaults, ...(deployment.gpu.coldStart ?? {}) };
  const phases: Phase[] = [];
  if (mode === 'uncached') phases.push({ name: 'node provisioning', meanS: p.nodeProvisionS });
  phases.push({ name: 'image pull', meanS: mode === 'uncached' ? p.imagePullUncachedS : p.imagePullCachedS });
  phases.push({
    name: 'weight load',
    meanS: deployment.weightBytesPerGpu / 1e9 / p.weightLoadGBps + p.weightLoadFixedS,
  });
  phases.push({ name: 'engine init', meanS: deployment.model.coldStart.engineInitS });
  phases.push({ name: 'warm-up', meanS: deployment.model.coldStart.warmupS });
  return { phases, cv: p.cv };
}

/** Per-GPU, per-model cold starts drawn phase by phase. */
export function catalogColdStart(
  deployment: Pick<Deployment, 'gpu' | 'model' | 'weightBytesPerGpu'>,
  defaults: ColdStartPhases,
  mode: ColdStartMode,
  rng: Rng,
): ColdStartSampler {
  const { phases, cv } = coldStartPhases(deployment, defaults, mode);
  const meanS = phases.reduce((a, ph) => a + ph.meanS, 0);
  return {
    draw: () => {
      let s = 0;
      for (const ph of phases) s += logNormalWithMean(rng, ph.meanS, cv);
      return s * 1000;
    },
    meanMs: meanS * 1000,
    description:
      `${mode} image, mean ${meanS.toFixed(1)} s = ` +
      phases.map((ph) => `${ph.name} ${ph.meanS.toFixed(1)} s`).join(' + ') +
      ` (each log-normal, cv ${cv})`,
  };
}

/** Log-normal draw with the given mean and coefficient of variation (cv 0: the mean itself). */
export function logNormalWithMean(rng: Rng, mean: number, cv: number): number {
  if (!(cv > 0) || !(mean > 0)) return mean;
  const sigma2 = Math.log(1 + cv * cv);
  return rng.lognormal(mean / Math.sqrt(1 + cv * cv), Math.sqrt(sigma2));
}
