/**
 * Two PodAutoscalers on one scale target would fight over its replicas. The owner is decided from
 * the objects themselves, not from which one happened to be reconciled first (AIBrix, W-20): the
 * oldest by creationTimestamp wins, ties broken by name. So every replica of the controller, and
 * every leader after a failover, picks the same owner. Invalid PodAutoscalers claim nothing.
 */
import type { ResolvedPodAutoscaler, ScaleTargetRef } from '../api/resolved.js';
import { splitApiVersion } from '../k8s/client.js';

/**
 * `<group>/<Kind>/<namespace>/<name>`. The version is left out on purpose: `apps/v1` and
 * `apps/v1beta2` name the same Deployment.
 */
export function targetKey(namespace: string, ref: ScaleTargetRef): string {
  const { group } = splitApiVersion(ref.apiVersion);
  return `${group || 'core'}/${ref.kind}/${namespace}/${ref.name}`;
}

/** A scale target a PodAutoscaler writes, and the spec field that names it. */
export interface TargetClaim {
  key: string;
  field: string;
  /** OPTIMIZER: the GPU type of the Deployment. */
  gpu?: string;
}

/**
 * Every target a PodAutoscaler writes: spec.scaleTargetRef, or with OPTIMIZER each Deployment of
 * the model group (spec.scaleTargetRef is one of them, named by that field).
 */
export function claimedTargets(pa: ResolvedPodAutoscaler): TargetClaim[] {
  const own = targetKey(pa.namespace, pa.scaleTargetRef);
  if (pa.strategy !== 'OPTIMIZER' || pa.optimizer === undefined)
    return [{ key: own, field: 'spec.scaleTargetRef' }];
  return pa.optimizer.targets.map((t, i) => {
    const key = targetKey(pa.namespace, t.scaleTargetRef);
    return {
      key,
      field: key === own ? 'spec.scaleTargetRef' : `spec.optimizer.targets[${i}].scaleTargetRef`,
      gpu: t.gpu,
    };
  });
}

interface Claim {
  target: string;
  createdMs: number;
}

export class ConflictRegistry {
  private readonly claims = new Map<string, Claim>();
  private readonly byTarget = new Map<string, Set<string>>();

  /** Records (or moves) the claim of PodAutoscaler `id`. */
  claim(id: string, target: string, createdMs: number): void {
    this.release(id);
    this.claims.set(id, { target, createdMs });
    let set = this.byTarget.get(target);
    if (!set) {
      set = new Set();
      this.byTarget.set(target, set);
    }
    set.add(id);
  }

  release(id: string): void {
    const prior = this.claims.get(id);
    if (!prior) return;
    this.claims.delete(id);
    const set = this.byTarget.get(prior.target);
    set?.delete(id);
    if (set && set.size === 0) this.byTarget.delete(prior.target);
  }

  /** The PodAutoscaler that owns `target`, if any claims it. */
  ownerOf(target: string): string | undefined {
    let best: { id: string; createdMs: number } | undefined;
    for (const id of this.byTarget.get(target) ?? []) {
      const c = this.claims.get(id)!;
      if (!best || c.createdMs < best.createdMs || (c.createdMs === best.createdMs && id < best.id)) {
        best = { id, createdMs: c.createdMs };
      }
    }
    return best?.id;
  }

  /** Everyone claiming `target` (for re-evaluating the losers when the owner leaves). */
  claimants(target: string): string[] {
    return [...(this.byTarget.get(target) ?? [])];
  }

  targetOf(id: string): string | undefined {
    return this.claims.get(id)?.target;
  }
}
