/**
 * The engine of `inferscale decide`: a document of ticks drives the real ScalingEngine through the
 * in-memory seams. Kept apart from the CLI so tests call it directly.
 */
import { z } from 'zod';
import { parse as parseYaml } from 'yaml';
import { resolvePodAutoscaler, formatIssues } from '../api/resolve.js';
import { ScalingEngine } from './engine.js';
import { ManualClock, MemoryPodSource, MemoryScaleTarget, TableMetricSource } from './memory.js';

const TickSchema = z.object({
  time: z.number().finite().min(0),
  /** Omitted: the target keeps what the previous tick decided (closed loop). */
  currentReplicas: z.number().int().min(0).optional(),
  pods: z
    .array(
      z.object({
        name: z.string().min(1),
        ready: z.boolean().default(true),
        metrics: z.record(z.string(), z.number().nullable()).default({}),
      }),
    )
    .default([]),
  external: z.record(z.string(), z.number().nullable()).default({}),
});

export const DecideDocumentSchema = z.object({
  podAutoscaler: z.unknown(),
  ticks: z.array(TickSchema).min(1, 'ticks: give at least one tick'),
});
export type DecideDocument = z.infer<typeof DecideDocumentSchema>;

export interface DecideLine {
  time: number;
  currentReplicas: number;
  desiredReplicas: number;
  reason: string;
  algorithm: string;
  scaled: boolean;
  readyPods: number;
  startingPods: number;
  bounds?: { min: number; max: number; activeSchedule?: string };
  metrics?: {
    metric: string;
    recommendation: number | null;
    reason: string;
    partial: boolean;
    errors: string[];
  }[];
  error?: string;
  [internal: string]: unknown;
}

export function parseDecideDocument(text: string, source: string): DecideDocument {
  let raw: unknown;
  try {
    raw = parseYaml(text); // YAML is a superset of JSON
  } catch (err) {
    throw new Error(`${source}: not valid JSON or YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  const parsed = DecideDocumentSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`${source}: ${z.prettifyError(parsed.error)}`);
  }
  const times = parsed.data.ticks.map((t) => t.time);
  const back = times.findIndex((t, i) => i > 0 && t < times[i - 1]!);
  if (back > 0)
    throw new Error(`${source}: ticks[${back}].time goes backwards (${times[back]} < ${times[back - 1]})`);
  return parsed.data;
}

export async function* runDecide(doc: DecideDocument): AsyncGenerator<DecideLine> {
  const resolved = resolvePodAutoscaler(doc.podAutoscaler);
  if (!resolved.ok) throw new Error(`podAutoscaler is invalid:\n${formatIssues(resolved.issues)}`);
  const pa = resolved.value;
  const namespace = pa.namespace;

  const clock = new ManualClock();
  const pods = new MemoryPodSource();
  const metrics = new TableMetricSource();
  const first = doc.ticks[0]!;
  const scale = new MemoryScaleTarget({
    replicas: first.currentReplicas ?? Math.max(pa.minReplicas, first.pods.length, 1),
    selector: 'decide=true',
  });
  const engine = new ScalingEngine({ clock, pods, metrics, scale });

  for (const tick of doc.ticks) {
    clock.set(tick.time * 1000);
    if (tick.currentReplicas !== undefined) scale.state = { ...scale.state, replicas: tick.currentReplicas };
    pods.pods = tick.pods.map((p) => ({
      name: p.name,
      namespace,
      ip: '127.0.0.1',
      phase: 'Running' as const,
      ready: p.ready,
      terminating: false,
      labels: {},
    }));
    metrics.podValues = new Map(tick.pods.map((p) => [p.name, p.metrics]));
    metrics.globalValues = tick.external;

    const r = await engine.tick(pa);
    const d = r.decision;
    yield {
      time: tick.time,
      currentReplicas: r.currentReplicas,
      desiredReplicas: r.desiredReplicas,
      reason: d?.reason ?? r.error?.message ?? '',
      algorithm: d?.algorithm ?? 'none',
      scaled: r.scaled,
      readyPods: r.readyPods,
      startingPods: r.startingPods,
      ...(d
        ? {
            bounds: d.bounds,
            metrics: d.metrics.map((m) => ({
              metric: m.metric,
              recommendation: m.recommendation ?? null,
              reason: m.reason,
              partial: m.partial,
              errors: m.errors,
            })),
            ...d.details,
          }
        : {}),
      ...(r.error ? { error: `${r.error.stage}: ${r.error.message}` } : {}),
    };
  }
}
