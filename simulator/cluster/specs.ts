/**
 * The PodAutoscaler specs a simulation compares: read from files (`--pa`, YAML or JSON, several
 * documents per file allowed) or generated per strategy for one target metric (`--algorithms`).
 * Every spec goes through the production resolver, so the simulator scales exactly what the
 * controller would.
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { formatIssues, resolvePodAutoscaler } from '../../src/api/resolve.js';
import type { ResolvedPodAutoscaler } from '../../src/api/resolved.js';

export type Strategy = 'KPA' | 'APA' | 'HPA';
export const STRATEGIES: readonly Strategy[] = ['KPA', 'APA', 'HPA'];

export interface GeneratedSpecOptions {
  /** Any targetMetric the catalogue resolves (default `kv_cache_usage`). */
  metric: string;
  /** Per-pod target value. */
  target: number;
  minReplicas: number;
  maxReplicas: number;
}

export const DEFAULT_METRIC = 'kv_cache_usage';
export const DEFAULT_TARGET = 0.5;

/** A spec to run, with where it came from. */
export interface SpecEntry {
  /** Unique label in the report. */
  name: string;
  source: string;
  raw: unknown;
  pa: ResolvedPodAutoscaler;
}

export function parseStrategies(text: string): Strategy[] {
  const out: Strategy[] = [];
  for (const part of text.split(',')) {
    const s = part.trim().toUpperCase();
    if (s === '') continue;
    if (!STRATEGIES.includes(s as Strategy)) {
      throw new Error(`--algorithms: unknown algorithm "${part.trim()}"; use a comma list of kpa, apa, hpa`);
    }
    if (!out.includes(s as Strategy)) out.push(s as Strategy);
  }
  if (out.length === 0) throw new Error('--algorithms: give at least one of kpa, apa, hpa');
  return out;
}

/** A default inferscale PodAutoscaler for `strategy` on one pod metric. */
export function generatedSpec(strategy: Strategy, o: GeneratedSpecOptions): unknown {
  return {
    apiVersion: 'autoscaling.inferscale.dev/v1alpha1',
    kind: 'PodAutoscaler',
    metadata: { name: `sim-${strategy.toLowerCase()}`, namespace: 'default' },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'sim' },
      minReplicas: o.minReplicas,
      maxReplicas: o.maxReplicas,
      scalingStrategy: strategy,
      metricsSources: [
        {
          metricSourceType: 'pod',
          protocolType: 'http',
          port: '8000',
          path: '/metrics',
          targetMetric: o.metric,
          targetValue: String(o.target),
        },
      ],
    },
  };
}

export function resolveSpec(raw: unknown, source: string): ResolvedPodAutoscaler {
  const r = resolvePodAutoscaler(raw);
  if (!r.ok) throw new Error(`${source}: invalid PodAutoscaler:\n${formatIssues(r.issues)}`);
  return r.value;
}

/** Every PodAutoscaler document in a YAML or JSON file. */
export function readSpecFile(path: string): { source: string; raw: unknown }[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`--pa ${path}: cannot read: ${err instanceof Error ? err.message : String(err)}`);
  }
  const docs = parseAllDocuments(text);
  const out: { source: string; raw: unknown }[] = [];
  docs.forEach((doc, i) => {
    if (doc.errors.length > 0)
      throw new Error(`--pa ${path}: document ${i + 1} is not valid YAML: ${doc.errors[0]!.message}`);
    const raw: unknown = doc.toJS();
    if (raw === null || raw === undefined) return;
    out.push({ source: docs.length > 1 ? `${path}#${i + 1}` : path, raw });
  });
  if (out.length === 0) throw new Error(`--pa ${path}: no PodAutoscaler document in the file`);
  return out;
}

/** Gives each entry a unique report name: the PA's name, suffixed when two share one. */
export function uniqueNames<T extends { pa: ResolvedPodAutoscaler }>(entries: T[]): (T & { name: string })[] {
  const seen = new Map<string, number>();
  return entries.map((e) => {
    const base = `${e.pa.name} (${e.pa.strategy})`;
    const k = (seen.get(base) ?? 0) + 1;
    seen.set(base, k);
    return { ...e, name: k === 1 ? base : `${base} #${k}` };
  });
}
