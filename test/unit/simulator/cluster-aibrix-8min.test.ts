/**
 * AIBrix's 8-minute up-and-down autoscaling benchmark, reproduced: the benchmark's KPA, APA and HPA
 * PodAutoscalers (test/fixtures/simulator/aibrix-8min) on its workload, one run each on identical
 * arrivals. AIBrix ran DeepSeek-LLM-7B on V100s; the closest catalogue pair is Llama-2-7B (same
 * architecture class, MHA) on A10G (24 GB, 600 GB/s). Asserts the shape, prints the figures.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { catalogColdStart } from '../../../simulator/cluster/coldstart.js';
import { modelReplicaFactory } from '../../../simulator/cluster/model-adapter.js';
import { readSpecFile, resolveSpec, uniqueNames } from '../../../simulator/cluster/specs.js';
import { isOracle, runComparison } from '../../../simulator/report/compare.js';
import { catalog } from '../../../simulator/model/hardware.js';
import { readTrace } from '../../../simulator/traces/index.js';

const dir = (f: string) =>
  fileURLToPath(new URL(`../../fixtures/simulator/aibrix-8min/${f}`, import.meta.url));

describe("AIBrix's 8-minute up-and-down workload with KPA, APA and HPA", () => {
  it('scales up during the peak and back down after it, and reports SLO attainment for each', async () => {
    const trace = readTrace(dir('8min_up_and_down.jsonl'));
    expect(trace.requests.length).toBe(2026);
    const specs = uniqueNames(
      ['kpa.yaml', 'apa.yaml', 'hpa.yaml'].flatMap((f) =>
        readSpecFile(dir(f)).map((d) => ({ source: d.source, raw: d.raw, pa: resolveSpec(d.raw, d.source) })),
      ),
    );
    const factory = modelReplicaFactory({ gpu: 'A10G', model: 'Llama-2-7B' });
    const report = await runComparison({
      trace: { name: '8min_up_and_down', requests: trace.requests },
      specs,
      factory,
      coldStart: (rng) => catalogColdStart(factory.deployment, catalog().coldStartDefaults, 'cached', rng),
      router: 'least-requests',
      seed: 1,
      tickMs: 15_000,
      slo: { ttftMs: 2_000, itlMs: 100 },
      // As in the benchmark: one ready replica, the autoscaler on from the start; ten minutes after
      // the last request to watch the scale-down.
      initialReplicas: 1,
      warmupMs: 0,
      tailMs: 600_000,
    });

    const lines: string[] = [];
    for (const run of report.runs) {
      const s = run.summary;
      const t = run.timeline;
      const during = t.timeS.map((ts, i) => (ts >= 150 && ts <= 400 ? t.desired[i]! : 0));
      const peak = Math.max(...during);
      expect(peak, `${s.name} scales up during the peak`).toBeGreaterThan(1);
      expect(t.desired.at(-1)!, `${s.name} scales back down after it`).toBeLessThan(peak);
      expect(s.slo.attainment).not.toBeNull();
      expect(s.slo.attainment!).toBeGreaterThan(0);
      expect(s.slo.attainment!).toBeLessThanOrEqual(1);
      expect(s.completed + s.rejected).toBe(2026);
      expect(s.rejected).toBe(2); // the two 0-token requests
      lines.push(
        `${s.name.padEnd(36)} attainment ${(s.slo.attainment! * 100).toFixed(1)}% (TTFT ${(s.slo.ttftAttainment! * 100).toFixed(1)}%, ` +
          `ITL ${(s.slo.itlAttainment! * 100).toFixed(1)}%)  p99 TTFT ${s.ttft.p99} s  p50 TTFT ${s.ttft.p50} s  p99 E2E ${s.e2e.p99} s  ` +
          `replica-s ${s.replicaSeconds.toFixed(0)}  cost $${s.costUsd.toFixed(3)}  ×oracle ${s.costVsOracle}  ` +
          `peak ${s.peakReplicas}  mean ${s.meanReplicas}  scale events ${s.scaleEvents} (${s.scaleUps}↑ ${s.scaleDowns}↓)  flaps ${s.flaps}`,
      );
    }
    const o = report.oracle;
    lines.push(
      isOracle(o)
        ? `oracle: replica-s ${o.replicaSeconds.toFixed(0)}, cost $${o.costUsd.toFixed(3)}, capacity ${o.capacityRps} req/s/replica (pool ${o.capacityPoolSize}), peak ${o.peakReplicas}, replayed attainment ${o.replay.attainment}`
        : `oracle skipped: ${o.skipped}`,
    );
    process.stdout.write(
      `\nAIBrix 8-minute up-and-down on Llama-2-7B / A10G (SLO TTFT 2 s, ITL 100 ms):\n${lines.join('\n')}\n`,
    );
  });
});
