/**
 * Workload files for `inferscale optimize --workload`: JSON or YAML, either
 * - a distribution: `{ totalRps, cells: [{ input, output, weight }] }`, or
 * - engine histogram increases: `{ windowSeconds, pods: [{ pod, prompt, generation }] }`, where
 *   prompt/generation are `{ count, sum, buckets: [{ le, count }] }` (cumulative, finite `le`).
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { Grid, Rounding } from '../../algorithms/optimizer/grid.js';
import { workloadFromHistograms } from '../../algorithms/optimizer/histograms.js';
import {
  DistributionCellSchema,
  workloadFromDistribution,
  type LoadEstimate,
} from '../../algorithms/optimizer/workload.js';
import { describeZodError } from '../api/issues.js';

const HistogramDeltaSchema = z.object({
  count: z.number().nonnegative(),
  sum: z.number().nonnegative(),
  buckets: z.array(z.object({ le: z.number().positive(), count: z.number().nonnegative() })),
});

export const WorkloadFileSchema = z.union([
  z.object({ totalRps: z.number().nonnegative(), cells: z.array(DistributionCellSchema).min(1) }).strict(),
  z
    .object({
      windowSeconds: z.number().positive(),
      pods: z.array(
        z.object({
          pod: z.string().min(1),
          prompt: HistogramDeltaSchema.optional(),
          generation: HistogramDeltaSchema.optional(),
        }),
      ),
    })
    .strict(),
]);
export type WorkloadFile = z.infer<typeof WorkloadFileSchema>;

export function parseWorkloadFile(text: string, where: string): WorkloadFile {
  let value: unknown;
  try {
    value = text.trimStart().startsWith('{') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new Error(`${where}: cannot parse: ${err instanceof Error ? err.message : String(err)}`);
  }
  const parsed = WorkloadFileSchema.safeParse(value);
  if (!parsed.success) {
    throw new Error(
      `${where}: not a workload file (want {totalRps, cells:[{input,output,weight}]} or {windowSeconds, pods:[…]}): ${describeZodError(parsed.error)}`,
    );
  }
  return parsed.data;
}

export async function readWorkloadFile(path: string): Promise<WorkloadFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read workload ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return parseWorkloadFile(text, path);
}

export function loadFromWorkloadFile(file: WorkloadFile, grid: Grid, rounding: Rounding): LoadEstimate {
  if ('cells' in file) return workloadFromDistribution(file.cells, file.totalRps, grid, rounding);
  return workloadFromHistograms({
    pods: file.pods.map((p) => ({ pod: p.pod, prompt: p.prompt, generation: p.generation })),
    windowSeconds: file.windowSeconds,
    grid,
    rounding,
  });
}
