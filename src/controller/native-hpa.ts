/**
 * `--hpa-mode=native`: a PodAutoscaler with the HPA strategy is carried out by a generated
 * `autoscaling/v2` HorizontalPodAutoscaler (named `<pa>-hpa`, as AIBrix does) instead of the
 * in-process HPA algorithm. Differences from AIBrix, on purpose:
 *   - the owner reference has the right kind (`PodAutoscaler`), is the controller reference and
 *     blocks owner deletion, so garbage collection and our ownership check work (W-15);
 *   - the HPA is deleted as soon as the PodAutoscaler stops wanting it: another strategy, invalid,
 *     in conflict, or the controller back in in-process mode (W-17);
 *   - metric types are mapped faithfully (external → External, resource → Resource with the
 *     target type as written, pod/custom → Pods), fractional targets become exact quantities
 *     (`500m`, not a truncated 0), and sources an HPA cannot express are refused with a reason
 *     instead of being approximated (W-18);
 *   - the HPA is only written when the desired spec differs, with its resourceVersion (W-18);
 *   - its status is copied into the PodAutoscaler's as the only writer of those conditions (W-16).
 */
import type * as k8s from '@kubernetes/client-node';
import type { ResolvedPodAutoscaler, ScalingRules } from '../api/resolved.js';

export const HPA_SUFFIX = '-hpa';
export const MANAGED_BY = 'inferscale';

export interface HpaOwner {
  apiVersion: string;
  name: string;
  uid: string;
}

export function hpaName(paName: string): string {
  return `${paName}${HPA_SUFFIX}`;
}

/** A Kubernetes quantity for a number, exact for up to three decimals (`0.5` → `500m`). */
export function quantity(v: number): string {
  if (Number.isInteger(v)) return String(v);
  const milli = v * 1000;
  if (Math.abs(milli - Math.round(milli)) < 1e-9) return `${Math.round(milli)}m`;
  const micro = v * 1e6;
  if (Math.abs(micro - Math.round(micro)) < 1e-6) return `${Math.round(micro)}u`;
  return v.toFixed(9).replace(/0+$/, '');
}

function rules(r: ScalingRules): k8s.V2HPAScalingRules {
  const out: k8s.V2HPAScalingRules = {
    stabilizationWindowSeconds: r.stabilizationWindowSeconds,
    selectPolicy: r.selectPolicy,
    policies: r.policies.map((p) => ({ type: p.type, value: p.value, periodSeconds: p.periodSeconds })),
  };
  // Only when not the default 0.1: clusters without HPAConfigurableTolerance ignore the field.
  if (Math.abs(r.tolerance - 0.1) > 1e-12) out.tolerance = quantity(r.tolerance);
  return out;
}

export type HpaBuild = { ok: true; hpa: k8s.V2HorizontalPodAutoscaler } | { ok: false; reason: string };

/** The HPA a PodAutoscaler stands for, or why it cannot be expressed as one. */
export function buildHpa(pa: ResolvedPodAutoscaler, owner: HpaOwner): HpaBuild {
  if (pa.minReplicas < 1) {
    return {
      ok: false,
      reason:
        'minReplicas 0 needs the HPAScaleToZero feature gate; use the in-process HPA (the default mode)',
    };
  }
  if (pa.schedules.length > 0) {
    return {
      ok: false,
      reason: 'schedules cannot be expressed in a native HPA; use the in-process HPA (the default mode)',
    };
  }
  const metrics: k8s.V2MetricSpec[] = [];
  for (const [i, m] of pa.metrics.entries()) {
    const where = `metric ${i} (${m.targetMetric})`;
    const value = quantity(m.targetValue);
    switch (m.type) {
      case 'resource': {
        if (m.targetMetric !== 'cpu' && m.targetMetric !== 'memory')
          return { ok: false, reason: `${where}: only cpu and memory are resources` };
        const target: k8s.V2MetricTarget =
          m.targetType === 'Utilization'
            ? { type: 'Utilization', averageUtilization: Math.round(m.targetValue) }
            : { type: 'AverageValue', averageValue: value };
        metrics.push({ type: 'Resource', resource: { name: m.targetMetric, target } });
        break;
      }
      case 'pod':
      case 'custom':
        if (m.targetType === 'Utilization')
          return { ok: false, reason: `${where}: Utilization applies to cpu and memory only` };
        // Served to the HPA by a custom-metrics adapter (e.g. prometheus-adapter) under this name.
        metrics.push({
          type: 'Pods',
          pods: { metric: { name: m.targetMetric }, target: { type: 'AverageValue', averageValue: value } },
        });
        break;
      case 'external':
        if (m.endpoint) {
          return {
            ok: false,
            reason: `${where}: an external endpoint (${m.endpoint}) is fetched by inferscale itself; a native HPA reads only external.metrics.k8s.io`,
          };
        }
        metrics.push({
          type: 'External',
          external: {
            metric: { name: m.targetMetric },
            target:
              m.targetType === 'Value'
                ? { type: 'Value', value }
                : { type: 'AverageValue', averageValue: value },
          },
        });
        break;
      case 'prometheus':
        return {
          ok: false,
          reason: `${where}: PromQL sources cannot be expressed in a native HPA; use the in-process HPA (the default mode)`,
        };
    }
  }
  return {
    ok: true,
    hpa: {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: {
        name: hpaName(pa.name),
        namespace: pa.namespace,
        labels: {
          'app.kubernetes.io/managed-by': MANAGED_BY,
          'autoscaling.inferscale.dev/podautoscaler': pa.name,
        },
        ownerReferences: [
          {
            apiVersion: owner.apiVersion,
            kind: 'PodAutoscaler',
            name: owner.name,
            uid: owner.uid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: {
        scaleTargetRef: {
          apiVersion: pa.scaleTargetRef.apiVersion,
          kind: pa.scaleTargetRef.kind,
          name: pa.scaleTargetRef.name,
        },
        minReplicas: pa.minReplicas,
        maxReplicas: pa.maxReplicas,
        metrics,
        behavior: { scaleUp: rules(pa.behavior.scaleUp), scaleDown: rules(pa.behavior.scaleDown) },
      },
    },
  };
}

/** The HPA is controlled by this PodAutoscaler (never touch one that is not). */
export function ownedBy(hpa: k8s.V2HorizontalPodAutoscaler, uid: string): boolean {
  return (hpa.metadata?.ownerReferences ?? []).some(
    (r) => r.uid === uid && r.kind === 'PodAutoscaler' && r.controller === true,
  );
}

/** JSON with sorted keys and without null/undefined, so typed instances and literals compare equal. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object' && !(v instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined && x !== null) out[k] = canonical(x);
    }
    return out;
  }
  return v;
}

/** Whether the live HPA's spec differs from the wanted one. */
export function specDiffers(
  live: k8s.V2HorizontalPodAutoscaler,
  want: k8s.V2HorizontalPodAutoscaler,
): boolean {
  return JSON.stringify(canonical(live.spec)) !== JSON.stringify(canonical(want.spec));
}
