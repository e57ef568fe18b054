/**
 * The OPTIMIZER strategy's shell: one PodAutoscaler drives a model group, several Deployments (one
 * per GPU type) serving one model. Per tick it
 *
 * 1. reads every target's scale and lists its pods (the ScaleTarget and PodSource seams);
 * 2. reads the token histograms of every ready pod of every target (TokenHistogramSource) and
 *    differences them over the window into one workload (`workloadFromHistograms`);
 * 3. loads the targets' profiles (ProfileSource) and solves for the cheapest mix (HiGHS, loaded
 *    once per process);
 * 4. optionally runs the PodAutoscaler's metrics through the ordinary per-target pipeline on each
 *    Deployment, as a reactive floor (a dry-run ScalingEngine tick, so nothing is written twice);
 * 5. combines both per Deployment (`decideGroup`: plan or floor, keep-one, behavior, bounds) and
 *    writes each changed count through the ScaleTarget seam.
 *
 * "No profile", "no data", "infeasible" and solver failures come back as the tick's outcome and as
 * conditions for the controller to write; they never turn into a silent minimum.
 */
import type { Logger } from '../observability/log.js';
import { forPodAutoscaler, silentLogger } from '../observability/log.js';
import type { ResolvedOptimizerTarget, ResolvedPodAutoscaler, ScaleTargetRef } from '../api/resolved.js';
import { DEFAULTS } from '../api/defaults.js';
import type { Clock, MetricSource, PodInfo, PodSource, ScaleTarget } from './seams.js';
import { ScalingEngine } from './engine.js';
import type { BehaviorState } from '../../algorithms/behavior.js';
import type { Grid } from '../../algorithms/optimizer/grid.js';
import { workloadFromHistograms } from '../../algorithms/optimizer/histograms.js';
import { optimize, type OptimizeResult, type Plan } from '../../algorithms/optimizer/optimize.js';
import type { MilpSolver } from '../../algorithms/optimizer/milp.js';
import type { GpuOption } from '../../algorithms/optimizer/problem.js';
import type { Profile } from '../../algorithms/optimizer/profile.js';
import {
  emptyWorkload,
  sameGrid,
  scaleWorkload,
  workloadEnvelope,
  type LoadEstimate,
  type Workload,
} from '../../algorithms/optimizer/workload.js';
import { choosePlan, decideGroup, type GroupTargetDecision } from '../../algorithms/optimizer/group.js';
import { TokenHistory } from '../optimizer/engine-load.js';
import { matchProfiles, type ProfileSource } from '../optimizer/profile-source.js';
import type { TokenHistogramSource } from '../optimizer/token-scraper.js';

export interface ModelGroupEngineOptions {
  clock: Clock;
  pods: PodSource;
  scale: ScaleTarget;
  tokens: TokenHistogramSource;
  profiles: ProfileSource;
  /** The reactive floor's metrics (the same dispatcher the per-target engine uses). */
  metrics?: MetricSource;
  /** The MILP solver; default HiGHS, loaded on first use. */
  solver?: () => Promise<MilpSolver>;
  log?: Logger;
  /** Budget for the token reads of one tick. Default 5 s. */
  readBudgetMs?: number;
  /** Solver budget per tick. Default 2 s. */
  solveSeconds?: number;
}

/** A condition for the controller to write (same shape as the per-target engine's). */
export interface GroupCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

export interface GroupTargetResult extends GroupTargetDecision {
  scaleTargetRef: ScaleTargetRef;
  readyPods: number;
  startingPods: number;
  /** Price of one replica per hour (plan's or profile's), when known. */
  pricePerHour?: number;
  scaled: boolean;
  error?: { stage: 'get-scale' | 'list-pods' | 'reactive' | 'write-scale'; message: string };
}

export type GroupOutcome = OptimizeResult['kind'];

export interface GroupTickResult {
  timeMs: number;
  modelGroup: string;
  model: string | undefined;
  outcome: GroupOutcome;
  /** infeasible / solver-failed detail. */
  reason?: string;
  /** One line: the mix and its cost, or why there is none. */
  message: string;
  plan?: Plan;
  currency?: string;
  /** Σ desired × price over the targets (what the group costs after this tick's writes). */
  costPerHour?: number;
  workload?: { totalRps: number; clampedRps: number; pods: number };
  notes: string[];
  targets: GroupTargetResult[];
  conditions: GroupCondition[];
  dryRun: boolean;
}

/** A tick's measured load and its trend over the last window (req/s per s), once settled. */
interface Trend {
  measured: Extract<LoadEstimate, { kind: 'ok' }>;
  slope: number;
  note: string;
}

interface GroupRuntime {
  history: TokenHistory;
  behavior: Map<string, BehaviorState>;
  /** The loads planned for over the scale-down stabilisation window (their envelope sizes a new mix). */
  planned: Array<{ atMs: number; workload: Workload }>;
  /** Since when a materially cheaper mix has been on offer (plan-level stabilisation). */
  cheaperSinceMs?: number;
  /** Per target, the counts of the plan the group last chose. */
  committed?: number[];
  /** When the first load was planned for (the envelope covers a whole window after that). */
  firstPlannedMs?: number;
  /** Measured total rates, for the trend, and when the first was. */
  rates: Array<{ atMs: number; rps: number }>;
  firstRateMs?: number;
  specKey: string;
}

export class ModelGroupEngine {
  private readonly runtimes = new Map<string, GroupRuntime>();
  private readonly log: Logger;
  private readonly reactive: ScalingEngine | undefined;
  private solverPromise: Promise<MilpSolver> | undefined;

  constructor(private readonly opts: ModelGroupEngineOptions) {
    this.log = opts.log ?? silentLogger();
    this.reactive =
      opts.metrics !== undefined
        ? new ScalingEngine({
            clock: opts.clock,
            pods: opts.pods,
            metrics: opts.metrics,
            scale: opts.scale,
            log: this.log,
            readBudgetMs: opts.readBudgetMs,
          })
        : undefined;
  }

  forget(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const rt = this.runtimes.get(key);
    if (rt && this.reactive) {
      for (const gpu of rt.behavior.keys()) this.reactive.forget(namespace, reactiveName(name, gpu));
    }
    this.runtimes.delete(key);
  }

  async tick(pa: ResolvedPodAutoscaler): Promise<GroupTickResult> {
    const opt = pa.optimizer;
    if (pa.strategy !== 'OPTIMIZER' || opt === undefined) {
      throw new Error(
        `${pa.namespace}/${pa.name}: a model group needs scalingStrategy OPTIMIZER with optimizer.targets`,
      );
    }
    const log = forPodAutoscaler(this.log, pa.namespace, pa.name);
    const nowMs = this.opts.clock.now();
    const rt = this.runtimeFor(pa);
    const groupName = opt.modelGroup ?? pa.name;

    // 1. Scales and pods.
    const states = await Promise.all(opt.targets.map((t) => this.readTarget(pa.namespace, t)));

    // 2. Token histograms of every ready pod → the model's workload.
    const ready = states.flatMap((s) => s.ready);
    for (const pod of states.flatMap((s) => s.unready)) rt.history.starting(pod.name, nowMs);
    const reading = ready.length
      ? await this.opts.tokens
          .read({
            owner: { namespace: pa.namespace, name: pa.name },
            pods: ready,
            scrape: opt.scrape,
            nowMs,
            deadlineMs: nowMs + (this.opts.readBudgetMs ?? 5_000),
          })
          .catch((err: unknown) => new Map(ready.map((p) => [p.name, { error: errText(err) }])))
      : new Map();
    const failed = new Map<string, string>();
    for (const pod of ready) {
      const r = reading.get(pod.name);
      if (r === undefined) failed.set(pod.name, 'no reading returned');
      else if ('error' in r) failed.set(pod.name, r.error);
      else rt.history.record(pod.name, nowMs, r.snapshot);
    }
    const increases = rt.history.increases(
      nowMs,
      opt.windowSeconds * 1000,
      ready.map((p) => ({
        name: p.name,
        ...(p.createdAtMs !== undefined ? { createdAtMs: p.createdAtMs } : {}),
      })),
      failed,
    );

    // 3. Profiles and the plan.
    const searchPaths = opt.profiles ?? [...DEFAULTS.optimizer.profiles];
    const paths = [
      ...new Set([...searchPaths, ...opt.targets.flatMap((t) => (t.profile ? [t.profile] : []))]),
    ];
    const loaded = await this.opts.profiles.load(paths);
    const matched = matchProfiles(opt.targets, opt.model, searchPaths, loaded);
    const grid = unionGrid(matched.profiles.filter((p): p is Profile => p !== undefined));
    let load: LoadEstimate;
    let trend: Trend | undefined;
    let falling = false;
    if (grid === undefined) {
      // No profile at all: `optimize` says so (no-profile) before it looks at the load.
      load = { kind: 'ok', workload: emptyWorkload({ input: [1], output: [1] }), notes: [] };
    } else if (ready.length === 0) {
      load = {
        kind: 'no-data',
        message: 'no ready pod in any Deployment of the group: nothing to read the load from',
      };
    } else {
      load = workloadFromHistograms({
        pods: increases,
        windowSeconds: opt.windowSeconds,
        grid,
        rounding: 'nearest',
      });
      if (load.kind === 'ok') {
        ({ load, trend, falling } = withTrend(
          load,
          rt,
          nowMs,
          opt.windowSeconds,
          opt.forecastSeconds,
          opt.headroom,
        ));
      }
    }
    const gpus: GpuOption[] = opt.targets.map((t, i) => ({
      name: t.gpu,
      profile: matched.profiles[i],
      minReplicas: t.minReplicas,
      maxReplicas: t.maxReplicas,
      ...(t.availableGpus !== undefined ? { availableGpus: t.availableGpus } : {}),
      ...(t.costPerHour !== undefined ? { costPerHour: t.costPerHour } : {}),
    }));
    let result: OptimizeResult;
    try {
      const solver = await this.solver();
      const solve = (options: readonly GpuOption[], on: LoadEstimate): OptimizeResult =>
        optimize(
          {
            ...(matched.model !== undefined ? { model: matched.model } : {}),
            gpus: options,
            load: on,
            options: {
              sliceFactor: opt.sliceFactor,
              headroom: opt.headroom,
              timeLimitSeconds: this.opts.solveSeconds ?? 2,
            },
          },
          solver,
        );
      const windowSeconds = pa.behavior.scaleDown.stabilizationWindowSeconds;
      const envelope = peakLoad(load, rt, nowMs, windowSeconds);
      result = solve(gpus, load);
      // The mix the group follows is the last plan it chose (live counts may differ for a while:
      // old replicas held until new ones are ready, reactive floors); at first, the live counts.
      const followed = rt.committed ?? states.map((st) => st.current);
      if (result.kind === 'plan' && followed.every((c) => c !== undefined)) {
        const fixed = (g: GpuOption, i: number) => clampTo(g, followed[i]!);
        const current = solve(
          gpus.map((g, i) => ({ ...g, minReplicas: fixed(g, i), maxReplicas: fixed(g, i) })),
          load,
        );
        let peaked: OptimizeResult | undefined;
        const peak = () => (peaked ??= solve(gpus, envelope!));
        const far =
          opt.forecastSeconds > 0
            ? trendAhead(trend, opt.forecastSeconds + windowSeconds, opt.headroom)
            : undefined;
        const ahead = far !== undefined && far.workload.totalRps > rpsOf(envelope ?? load) ? far : undefined;
        // Shrinking within the mix needs an envelope over a whole window (the HPA's stabilisation).
        const subtractive =
          current.kind === 'plan' && nowMs - (rt.firstPlannedMs ?? nowMs) >= windowSeconds * 1000
            ? solve(
                gpus.map((g, i) => ({ ...g, maxReplicas: fixed(g, i) })),
                envelope ?? load,
              )
            : undefined;
        // A past peak beyond what can be had does not stop the group from serving the load now.
        const additive =
          current.kind === 'plan'
            ? undefined
            : solve(
                gpus.map((g, i) => ({ ...g, minReplicas: fixed(g, i) })),
                envelope !== undefined && peak().kind === 'plan' ? envelope : load,
              );
        const choice = choosePlan({
          nowMs,
          cheapest: result,
          current,
          ...(envelope !== undefined ? { peak } : {}),
          ...(ahead !== undefined ? { ahead: () => solve(gpus, ahead) } : {}),
          roomier: (factor: number) => {
            const base = ahead ?? envelope ?? load;
            return base.kind === 'ok'
              ? solve(gpus, { ...base, workload: scaleWorkload(base.workload, factor) })
              : result;
          },
          ...(subtractive !== undefined ? { subtractive } : {}),
          ...(additive !== undefined ? { additive } : {}),
          hysteresis: opt.hysteresis,
          windowMs: windowSeconds * 1000,
          cheaperSinceMs: rt.cheaperSinceMs,
          falling,
        });
        rt.cheaperSinceMs = choice.cheaperSinceMs;
        result = choice.note
          ? { ...choice.result, notes: [...choice.result.notes, choice.note] }
          : choice.result;
      }
      if (result.kind === 'plan') {
        const byGpu = new Map(result.plan.gpus.map((g) => [g.gpu, g.replicas]));
        rt.committed = opt.targets.map((t) => byGpu.get(t.gpu) ?? 0);
      }
    } catch (err) {
      result = { kind: 'solver-failed', reason: 'error', message: errText(err) };
    }
    if (result.kind === 'no-profile' && matched.notes.length > 0) {
      result = { ...result, message: `${result.message}: ${matched.notes.join('; ')}` };
    }

    // 4. The reactive floor, per target.
    const reactive = await this.reactiveFloor(pa, states);

    // 5. Decide and write.
    const decision = decideGroup({
      nowMs,
      result,
      targets: opt.targets.map((t, i) => ({
        gpu: t.gpu,
        current: states[i]!.current,
        minReplicas: t.minReplicas,
        maxReplicas: t.maxReplicas,
        ...(reactive[i] !== undefined ? { reactive: reactive[i] } : {}),
        servableCells: servableCells(matched.profiles[i]),
        starting: states[i]!.starting,
        ...(priceOf(t, matched.profiles[i]) !== undefined
          ? { costPerHour: priceOf(t, matched.profiles[i]) }
          : {}),
      })),
      behavior: pa.behavior,
      scaleToZero: pa.scaleToZero.enabled,
      behaviorStates: rt.behavior,
      dryRun: pa.dryRun,
    });
    rt.behavior = decision.behaviorStates;

    const targets: GroupTargetResult[] = [];
    for (const [i, t] of opt.targets.entries()) {
      const d = decision.targets[i]!;
      const s = states[i]!;
      const price = priceOf(t, matched.profiles[i]);
      const out: GroupTargetResult = {
        ...d,
        scaleTargetRef: t.scaleTargetRef,
        readyPods: s.ready.length,
        startingPods: s.starting,
        ...(price !== undefined ? { pricePerHour: price } : {}),
        scaled: false,
        ...(s.error ? { error: s.error } : {}),
      };
      if (reactive.errors[i] !== undefined && out.error === undefined) {
        out.error = { stage: 'reactive', message: reactive.errors[i]! };
      }
      if (d.desired !== undefined && d.current !== undefined && d.desired !== d.current && !pa.dryRun) {
        try {
          await this.opts.scale.set(pa.namespace, t.scaleTargetRef, d.desired);
          out.scaled = true;
          log.info(
            { target: t.scaleTargetRef.name, gpu: t.gpu, from: d.current, to: d.desired, reason: d.reason },
            'scaled',
          );
        } catch (err) {
          out.error = {
            stage: 'write-scale',
            message: `writing replicas=${d.desired} to ${t.scaleTargetRef.kind}/${t.scaleTargetRef.name}: ${errText(err)}`,
          };
          log.warn({ err: out.error.message }, 'scale write failed');
        }
      }
      targets.push(out);
    }

    const notes = [
      ...(result.kind === 'plan' ? result.notes : []),
      ...(load.kind === 'ok' && result.kind !== 'plan' ? load.notes : []),
      ...matched.notes.filter((n) => result.kind === 'plan' || !result.message.includes(n)),
    ];
    const currency = currencyOf(matched.profiles, opt.targets);
    const costPerHour = groupCost(targets);
    const summary = describeOutcome(result, targets, currency, opt.headroom);
    const tick: GroupTickResult = {
      timeMs: nowMs,
      modelGroup: groupName,
      model: matched.model,
      outcome: result.kind,
      ...('reason' in result ? { reason: result.reason } : {}),
      message: summary,
      ...(result.kind === 'plan' ? { plan: result.plan } : {}),
      ...(currency !== undefined ? { currency } : {}),
      ...(costPerHour !== undefined ? { costPerHour } : {}),
      ...(load.kind === 'ok'
        ? {
            workload: {
              totalRps: load.workload.totalRps,
              clampedRps: load.workload.clampedRps,
              pods: increases.filter((p) => p.problem === undefined).length,
            },
          }
        : {}),
      notes,
      targets,
      conditions: [],
      dryRun: pa.dryRun,
    };
    tick.conditions = groupConditions(tick, reactive.ran);
    log.debug({ outcome: result.kind, message: summary }, 'model group tick');
    return tick;
  }

  private solver(): Promise<MilpSolver> {
    if (this.solverPromise === undefined) {
      const load =
        this.opts.solver ??
        (async () => (await import('../optimizer/highs.js').then((m) => m.loadHighsSolver())).solver);
      this.solverPromise = load().catch((err: unknown) => {
        this.solverPromise = undefined; // retry next tick
        throw err;
      });
    }
    return this.solverPromise;
  }

  private async readTarget(
    namespace: string,
    t: ResolvedOptimizerTarget,
  ): Promise<{
    current: number | undefined;
    ready: PodInfo[];
    /** Live pods not ready (starting, or failing their readiness probe). */
    unready: PodInfo[];
    starting: number;
    error?: GroupTargetResult['error'];
  }> {
    let scale;
    try {
      scale = await this.opts.scale.get(namespace, t.scaleTargetRef);
    } catch (err) {
      return {
        current: undefined,
        ready: [],
        unready: [],
        starting: 0,
        error: {
          stage: 'get-scale',
          message: `reading the scale of ${t.scaleTargetRef.kind}/${t.scaleTargetRef.name}: ${errText(err)}`,
        },
      };
    }
    try {
      const pods = await this.opts.pods.list(namespace, scale.selector);
      const live = pods.filter((p) => !p.terminating && p.phase !== 'Succeeded' && p.phase !== 'Failed');
      const ready = live.filter((p) => p.phase === 'Running' && p.ready);
      return {
        current: scale.replicas,
        ready,
        unready: live.filter((p) => !(p.phase === 'Running' && p.ready)),
        starting: Math.max(live.length - ready.length, scale.replicas - ready.length, 0),
      };
    } catch (err) {
      return {
        current: scale.replicas,
        ready: [],
        unready: [],
        starting: 0,
        error: {
          stage: 'list-pods',
          message: `listing pods for selector "${scale.selector}": ${errText(err)}`,
        },
      };
    }
  }

  /** Per target, the reactive recommendation (a dry-run tick of the per-target pipeline). */
  private async reactiveFloor(
    pa: ResolvedPodAutoscaler,
    states: ReadonlyArray<{ current: number | undefined }>,
  ): Promise<Array<number | undefined> & { errors: Array<string | undefined>; ran: boolean }> {
    const opt = pa.optimizer!;
    const out = opt.targets.map(() => undefined) as Array<number | undefined> & {
      errors: Array<string | undefined>;
      ran: boolean;
    };
    out.errors = opt.targets.map(() => undefined);
    out.ran = false;
    if (opt.reactive !== 'floor' || pa.metrics.length === 0 || this.reactive === undefined) return out;
    out.ran = true;
    await Promise.all(
      opt.targets.map(async (t, i) => {
        if (t.maxReplicas < 1 || states[i]?.current === undefined) return;
        const sub: ResolvedPodAutoscaler = {
          ...pa,
          name: reactiveName(pa.name, t.gpu),
          strategy: opt.reactiveStrategy,
          scaleTargetRef: t.scaleTargetRef,
          minReplicas: t.minReplicas,
          maxReplicas: t.maxReplicas,
          dryRun: true,
          optimizer: undefined,
        };
        const r = await this.reactive!.tick(sub);
        if (r.error) out.errors[i] = `reactive ${opt.reactiveStrategy}: ${r.error.message}`;
        else if (r.decision?.recommendedReplicas !== undefined) out[i] = r.decision.desiredReplicas;
      }),
    );
    return out;
  }

  private runtimeFor(pa: ResolvedPodAutoscaler): GroupRuntime {
    const key = `${pa.namespace}/${pa.name}`;
    // Another set of targets or another window invalidates the history and behavior memory.
    const specKey = JSON.stringify([
      pa.optimizer?.targets.map((t) => [t.gpu, t.scaleTargetRef.name]),
      pa.optimizer?.windowSeconds,
    ]);
    let rt = this.runtimes.get(key);
    if (rt === undefined || rt.specKey !== specKey) {
      rt = { history: new TokenHistory(), behavior: new Map(), rates: [], planned: [], specKey };
      this.runtimes.set(key, rt);
    }
    return rt;
  }
}

/**
 * New capacity arrives a cold start after the decision, and the window's estimate lags the load by
 * about half a window: while the load grows faster than the headroom covers, plan for where it
 * will be `forecastSeconds` ahead on the trend of the last window (never for less than measured,
 * at most twice it). The headroom is then part of the forecast, not added on top.
 */
function withTrend(
  load: Extract<LoadEstimate, { kind: 'ok' }>,
  rt: GroupRuntime,
  nowMs: number,
  windowSeconds: number,
  forecastSeconds: number,
  headroom: number,
): {
  load: LoadEstimate;
  trend?: Trend;
  /** The measured load fell by more than the headroom over the last window. */
  falling: boolean;
} {
  const rps = load.workload.totalRps;
  rt.firstRateMs ??= nowMs;
  rt.rates.push({ atMs: nowMs, rps });
  const cutoff = nowMs - windowSeconds * 1000;
  let past: { atMs: number; rps: number } | undefined;
  for (const r of rt.rates) if (r.atMs <= cutoff) past = r;
  if (past !== undefined) rt.rates = rt.rates.filter((r) => r.atMs >= past!.atMs);
  const falling = past !== undefined && rps < past.rps / (1 + headroom);
  // An estimate from before the history covered a whole window is not a baseline for a trend.
  const settled = past !== undefined && past.atMs >= rt.firstRateMs + windowSeconds * 1000;
  if (forecastSeconds <= 0 || past === undefined || !settled || !(rps > 0)) return { load, falling };
  const trend: Trend = {
    measured: load,
    slope: (rps - past.rps) / ((nowMs - past.atMs) / 1000),
    note: `the load grew from ${past.rps.toFixed(2)} to ${rps.toFixed(2)} req/s in ${Math.round((nowMs - past.atMs) / 1000)} s`,
  };
  const ahead = extrapolate(
    trend,
    forecastSeconds,
    headroom,
    (target) => `planning for ${target}: ${trend.note}; extrapolated ${forecastSeconds} s ahead`,
  );
  return { load: ahead ?? load, trend, falling };
}

/**
 * The load the trend of the last window reaches `horizonSeconds` ahead (at most twice the measured
 * load, headroom included as in `withTrend`), while it grows; undefined otherwise. A move to
 * other GPU types is sized for it (horizon: `forecastSeconds`, when the new replicas arrive, plus
 * the stabilisation window they should then last): the move pays cold starts and an overlap, and
 * a mix sized for the next cold start only is outgrown, and moved away from again, minutes later.
 */
function trendAhead(
  trend: Trend | undefined,
  horizonSeconds: number,
  headroom: number,
): Extract<LoadEstimate, { kind: 'ok' }> | undefined {
  if (trend === undefined || !(trend.slope > 0)) return undefined;
  return extrapolate(
    trend,
    horizonSeconds,
    headroom,
    (target) =>
      `a move to other types is sized for ${target}: ${trend.note}; extrapolated ${horizonSeconds} s ahead (a cold start, then a stabilisation window)`,
  );
}

/**
 * The measured load scaled to where its trend is `horizonSeconds` ahead, at most twice it, or
 * undefined when that is within the headroom. The headroom already covers growth up to itself
 * (and the noise of two window estimates): plan for load × max(1 + headroom, forecast / load).
 */
function extrapolate(
  trend: Trend,
  horizonSeconds: number,
  headroom: number,
  note: (target: string) => string,
): Extract<LoadEstimate, { kind: 'ok' }> | undefined {
  const rps = trend.measured.workload.totalRps;
  const ratio = Math.min(2, (rps + trend.slope * horizonSeconds) / rps);
  const factor = ratio / (1 + headroom);
  if (!(factor > 1.001)) return undefined;
  return {
    kind: 'ok',
    workload: scaleWorkload(trend.measured.workload, factor),
    notes: [...trend.measured.notes, note(`${(rps * ratio).toFixed(2)} req/s`)],
  };
}

/**
 * The envelope of the loads planned for over the scale-down stabilisation window (every cell at
 * its peak), when it exceeds the load now; records the load now. A new mix is sized for it, so a
 * dip of the load does not buy a mix its next peak outgrows: the window's stabilisation, applied
 * to the mix as a whole (the HPA keeps the highest recommendation of the window the same way).
 */
function peakLoad(
  load: LoadEstimate,
  rt: GroupRuntime,
  nowMs: number,
  windowSeconds: number,
): Extract<LoadEstimate, { kind: 'ok' }> | undefined {
  if (load.kind !== 'ok') return undefined;
  const now = load.workload;
  rt.firstPlannedMs ??= nowMs;
  rt.planned = rt.planned.filter(
    (p) => p.atMs > nowMs - windowSeconds * 1000 && p.atMs < nowMs && sameGrid(p.workload.grid, now.grid),
  );
  rt.planned.push({ atMs: nowMs, workload: now });
  const peak = workloadEnvelope(rt.planned.map((p) => p.workload));
  if (!(peak.totalRps > now.totalRps * 1.001)) return undefined;
  const since = Math.round((nowMs - rt.planned[0]!.atMs) / 1000);
  return {
    kind: 'ok',
    workload: peak,
    notes: [
      ...load.notes,
      `sized for the peak of the last ${since} s: ${peak.totalRps.toFixed(2)} req/s (every bucket at its highest; ${now.totalRps.toFixed(2)} req/s now)`,
    ],
  };
}

function rpsOf(load: LoadEstimate): number {
  return load.kind === 'ok' ? load.workload.totalRps : 0;
}

/** A current count brought within a target's bounds (the plan cannot hold it outside them). */
function clampTo(g: GpuOption, n: number): number {
  return Math.min(Math.max(n, g.minReplicas ?? 0), g.maxReplicas ?? Infinity);
}

function reactiveName(name: string, gpu: string): string {
  return `${name}#${gpu}`;
}

function unionGrid(profiles: readonly Profile[]): Grid | undefined {
  if (profiles.length === 0) return undefined;
  const input = [...new Set(profiles.flatMap((p) => p.grid.input))].sort((a, b) => a - b);
  const output = [...new Set(profiles.flatMap((p) => p.grid.output))].sort((a, b) => a - b);
  return { input, output };
}

function servableCells(profile: Profile | undefined): number {
  return profile === undefined
    ? 0
    : profile.maxRps.reduce((s, row) => s + row.filter((v) => v > 0).length, 0);
}

function priceOf(t: ResolvedOptimizerTarget, profile: Profile | undefined): number | undefined {
  return t.costPerHour ?? profile?.costPerHour;
}

function currencyOf(
  profiles: ReadonlyArray<Profile | undefined>,
  targets: readonly ResolvedOptimizerTarget[],
): string | undefined {
  const set = new Set(
    targets.flatMap((t, i) =>
      t.costPerHour !== undefined ? ['USD'] : profiles[i] ? [profiles[i].currency] : [],
    ),
  );
  return set.size === 1 ? [...set][0] : set.size > 1 ? 'mixed units' : undefined;
}

/** Σ desired (or current) × price over the targets with a price; undefined when none has one. */
function groupCost(targets: readonly GroupTargetResult[]): number | undefined {
  let cost = 0;
  let priced = false;
  for (const t of targets) {
    const n = t.desired ?? t.current;
    if (n === undefined || t.pricePerHour === undefined) continue;
    cost += n * t.pricePerHour;
    priced = true;
  }
  return priced ? cost : undefined;
}

function money(v: number, currency: string | undefined): string {
  return currency === 'USD' ? `$${v.toFixed(2)}` : `${v.toFixed(3)}${currency ? ` ${currency}` : ''}`;
}

/** `2×H100 + 1×A10G at $8.90/h for 12.3 req/s (+10 % headroom)`, or the failure message. */
export function describeMix(targets: readonly GroupTargetResult[], currency: string | undefined): string {
  const parts = targets
    .filter((t) => (t.desired ?? t.current ?? 0) > 0)
    .map((t) => `${t.desired ?? t.current}×${t.gpu}`);
  const cost = groupCost(targets);
  return `${parts.length ? parts.join(' + ') : 'no replicas'}${cost !== undefined ? ` at ${money(cost, currency)}/h` : ''}`;
}

function describeOutcome(
  result: OptimizeResult,
  targets: readonly GroupTargetResult[],
  currency: string | undefined,
  headroom: number,
): string {
  if (result.kind !== 'plan')
    return `${result.kind}${'reason' in result ? ` (${result.reason})` : ''}: ${result.message}`;
  const p = result.plan;
  const planned = p.gpus.filter((g) => g.replicas > 0).map((g) => `${g.replicas}×${g.gpu}`);
  return (
    `cheapest mix for ${p.totalRps.toFixed(2)} req/s${headroom > 0 ? ` (+${Math.round(headroom * 100)} % headroom)` : ''}: ` +
    `${planned.length ? planned.join(' + ') : 'nothing'} at ${money(p.costPerHour, currency)}/h; ` +
    `after floors and behavior: ${describeMix(targets, currency)}`
  );
}

const REASONS: Record<Exclude<GroupOutcome, 'plan'>, string> = {
  'no-profile': 'NoProfile',
  'no-data': 'NoData',
  infeasible: 'Infeasible',
  'solver-failed': 'SolverFailed',
};

/**
 * Conditions, in the HPA's vocabulary plus `Optimized`:
 * - `Optimized`: True/PlanFound with the mix and its cost, or False with NoProfile, NoData,
 *   Infeasible (message names unservable buckets, bounds or capacity) or SolverFailed;
 * - `ScalingActive`: False only when neither a plan nor a reactive floor could decide;
 * - `AbleToScale`: False when a target's scale could not be read or written;
 * - `ScalingLimited`: True when bounds or behavior held a target away from its recommendation.
 */
export function groupConditions(tick: GroupTickResult, reactiveRan: boolean): GroupCondition[] {
  const out: GroupCondition[] = [];
  if (tick.outcome === 'plan') {
    out.push({ type: 'Optimized', status: 'True', reason: 'PlanFound', message: tick.message });
    out.push({
      type: 'ScalingActive',
      status: 'True',
      reason: 'ValidMetricFound',
      message: 'the optimizer found a plan for the measured load',
    });
  } else {
    const reason = REASONS[tick.outcome];
    out.push({ type: 'Optimized', status: 'False', reason, message: tick.message });
    out.push(
      reactiveRan
        ? {
            type: 'ScalingActive',
            status: 'True',
            reason: `${reason}ReactiveOnly`,
            message: `no plan (${tick.outcome}); the reactive floor may still add replicas, nothing is removed`,
          }
        : {
            type: 'ScalingActive',
            status: 'False',
            reason,
            message: `no plan (${tick.outcome}); every Deployment keeps its size`,
          },
    );
  }
  const getFailed = tick.targets.filter(
    (t) => t.error?.stage === 'get-scale' || t.error?.stage === 'list-pods',
  );
  const writeFailed = tick.targets.filter((t) => t.error?.stage === 'write-scale');
  if (writeFailed.length > 0) {
    out.push({
      type: 'AbleToScale',
      status: 'False',
      reason: 'FailedUpdateScale',
      message: writeFailed.map((t) => t.error!.message).join('; '),
    });
  } else if (getFailed.length > 0) {
    out.push({
      type: 'AbleToScale',
      status: 'False',
      reason: 'FailedGetScale',
      message: getFailed.map((t) => t.error!.message).join('; '),
    });
  } else if (tick.targets.some((t) => t.scaled)) {
    out.push({
      type: 'AbleToScale',
      status: 'True',
      reason: 'SucceededRescale',
      message: tick.targets
        .filter((t) => t.scaled)
        .map((t) => `${t.scaleTargetRef.name} ${t.current} → ${t.desired}`)
        .join(', '),
    });
  } else {
    out.push({
      type: 'AbleToScale',
      status: 'True',
      reason:
        tick.dryRun && tick.targets.some((t) => t.desired !== t.current) ? 'DryRun' : 'ReadyForNewScale',
      message: tick.dryRun ? 'dry run: nothing was written' : 'recommended sizes match current sizes',
    });
  }
  const limited = tick.targets.filter((t) => t.recommended !== undefined && t.desired !== t.recommended);
  out.push(
    limited.length > 0
      ? {
          type: 'ScalingLimited',
          status: 'True',
          reason: 'LimitedByBoundsOrBehavior',
          message: limited.map((t) => `${t.gpu}: ${t.reason}`).join('; '),
        }
      : {
          type: 'ScalingLimited',
          status: 'False',
          reason: 'DesiredWithinRange',
          message: 'every Deployment gets its recommendation',
        },
  );
  return out;
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
