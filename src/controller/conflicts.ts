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
  targets: string[];
  createdMs: number;
}

/** A target this PodAutoscaler claims and an older one owns. */
export interface Conflict {
  target: string;
  owner: string;
}

export class ConflictRegistry {
  private readonly claims = new Map<string, Claim>();
  private readonly byTarget = new Map<string, Set<string>>();

  /**
   * Records (or moves) the claims of PodAutoscaler `id`: every target it writes (a model group
   * writes several). Returns the targets it no longer claims, whose other claimants may now own
   * them.
   */
  claim(id: string, targets: readonly string[], createdMs: number): string[] {
    const before = this.targetsOf(id);
    this.release(id);
    const unique = [...new Set(targets)];
    this.claims.set(id, { targets: unique, createdMs });
    for (const target of unique) {
      let set = this.byTarget.get(target);
      if (!set) {
        set = new Set();
        this.byTarget.set(target, set);
      }
      set.add(id);
    }
    return before.filter((t) => !unique.includes(t));
  }

  /** Drops every claim of `id`; returns the targets it held. */
  release(id: string): string[] {
    const prior = this.claims.get(id);
    if (!prior) return [];
    this.claims.delete(id);
    for (const target of prior.targets) {
      const set = this.byTarget.get(target);
      set?.delete(id);
      if (set && set.size === 0) this.byTarget.delete(target);
    }
    return prior.targets;
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

  /** The first of `id`'s targets that another PodAutoscaler owns. */
  conflictOf(id: string): Conflict | undefined {
    for (const target of this.targetsOf(id)) {
      const owner = this.ownerOf(target);
      if (owner !== undefined && owner !== id) return { target, owner };
    }
    return undefined;
  }

  /** Everyone claiming any of `targets` but `except` (to re-evaluate when claims move). */
  claimants(targets: readonly string[], except?: string): string[] {
    const out = new Set<string>();
    for (const t of targets) for (const id of this.byTarget.get(t) ?? []) if (id !== except) out.add(id);
    return [...out];
  }

  targetsOf(id: string): string[] {
    return [...(this.claims.get(id)?.targets ?? [])];
  }
}
