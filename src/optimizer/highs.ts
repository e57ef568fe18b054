/**
 * The HiGHS adapter for the optimizer's MilpSolver seam.
 *
 * HiGHS ships as a 3.5 MB WebAssembly module: it is loaded once per process and the instance is
 * reused. Models go in through the persistent, structured API (sparse arrays), never LP text: the
 * LP parser accepts malformed input silently. Each solve, and each LP session, owns one native
 * model and disposes it (garbage collection does not free wasm memory). Run times are wall time
 * around the native call, model transfer included: they are what the caller's budget pays.
 */
import highsModule, { type Highs } from 'highs';
import type {
  LpSession,
  MilpModel,
  MilpSolution,
  MilpSolveOptions,
  MilpSolver,
} from '../../algorithms/optimizer/milp.js';

export interface HighsRuntime {
  solver: MilpSolver;
  /** Milliseconds the first load (wasm compile + instantiate) took. */
  initMs: number;
  version: string;
}

// The package's types describe its CommonJS build, where the loader sits on `.default`; Node's
// ESM entry exports the loader itself. Accept either shape.
type Loader = () => Promise<Highs>;
const loadHighs: Loader =
  typeof highsModule === 'function'
    ? (highsModule as unknown as Loader)
    : (highsModule as { default: Loader }).default;

let loading: Promise<HighsRuntime> | undefined;

/** Loads HiGHS on first call; later calls share the same instance. */
export function loadHighsSolver(): Promise<HighsRuntime> {
  loading ??= (async () => {
    const started = performance.now();
    const highs = await loadHighs();
    const initMs = performance.now() - started;
    return { solver: createHighsSolver(highs), initMs, version: highs.version.string };
  })().catch((err: unknown) => {
    loading = undefined; // let a later call retry
    throw new Error(`could not load the HiGHS solver: ${err instanceof Error ? err.message : String(err)}`);
  });
  return loading;
}

type NativeModel = ReturnType<Highs['createModel']>;

export function createHighsSolver(highs: Highs): MilpSolver {
  const status = highs.constants.modelStatus;
  const toBound = (v: number): number =>
    v === Infinity ? highs.infinity : v === -Infinity ? -highs.infinity : v;

  const createNative = (model: MilpModel, integral: boolean): NativeModel => {
    const starts = [0];
    const indices: number[] = [];
    const values: number[] = [];
    for (const row of model.rows) {
      indices.push(...row.indices);
      values.push(...row.values);
      starts.push(indices.length);
    }
    const numCols = model.colNames.length;
    const numRows = model.rows.length;
    const native = highs.createModel({
      numCols,
      numRows,
      colCost: model.colCost,
      colLower: model.colLower.map(toBound),
      colUpper: model.colUpper.map(toBound),
      rowLower: model.rows.map((r) => toBound(r.lower)),
      rowUpper: model.rows.map((r) => toBound(r.upper)),
      matrix: { format: 'csr', numRows, numCols, starts, indices, values },
      ...(integral
        ? {
            integrality: model.integer.map((i) =>
              i ? highs.constants.variableType.integer : highs.constants.variableType.continuous,
            ),
          }
        : {}),
    });
    native.options.set({
      output_flag: false,
      // In this wasm build the feasibility-jump heuristic costs 15–50 ms per solve even on a
      // 2-variable model (measured); our models find incumbents fast without it.
      mip_heuristic_run_feasibility_jump: false,
    });
    return native;
  };

  /** Runs `native` and reads its answer; `started` is when the caller's clock started. */
  const run = (native: NativeModel, started: number): MilpSolution => {
    native.run();
    const code = native.getModelStatus();
    const detail = statusName(highs, code);
    const runTimeSeconds = (performance.now() - started) / 1000;
    if (code === status.infeasible || code === status.unboundedOrInfeasible) {
      return { status: 'infeasible', runTimeSeconds, detail };
    }
    const hasSolution =
      Number(native.info.get('primal_solution_status')) === highs.constants.solutionStatus.feasible;
    const limited = (
      [
        status.timeLimit,
        status.iterationLimit,
        status.solutionLimit,
        status.interrupted,
        status.objectiveBound,
        status.objectiveTarget,
      ] as number[]
    ).includes(code);
    if (code !== status.optimal && !limited) return { status: 'error', runTimeSeconds, detail };
    if (!hasSolution)
      return { status: code === status.optimal ? 'error' : 'no-solution', runTimeSeconds, detail };
    const gap = Number(native.info.get('mip_gap'));
    return {
      status: code === status.optimal ? 'optimal' : 'feasible',
      values: Array.from(native.getSolution().colValue),
      objective: native.getObjectiveValue(),
      gap: Number.isFinite(gap) ? gap : undefined,
      runTimeSeconds,
      detail,
    };
  };

  return {
    solve(model: MilpModel, options: MilpSolveOptions): MilpSolution {
      const started = performance.now();
      const native = createNative(model, true);
      try {
        native.options.set({ time_limit: options.timeLimitSeconds, mip_rel_gap: options.mipRelGap });
        return run(native, started);
      } finally {
        native.dispose();
      }
    },

    openLp(model: MilpModel): LpSession {
      const native = createNative(model, false);
      // Bounds as last sent, so a re-solve only touches columns that changed (and keeps its basis).
      const lower = model.colLower.slice();
      const upper = model.colUpper.slice();
      return {
        solve(change, timeLimitSeconds) {
          const started = performance.now();
          change.cols.forEach((col, i) => {
            const lo = change.lower[i] ?? lower[col] ?? 0;
            const hi = change.upper[i] ?? upper[col] ?? Infinity;
            if (lo === lower[col] && hi === upper[col]) return;
            lower[col] = lo;
            upper[col] = hi;
            native.changeColBounds(col, toBound(lo), toBound(hi));
          });
          // HiGHS's run clock and time limit are cumulative over a model's life: restart them.
          native.zeroAllClocks();
          native.options.set({ time_limit: timeLimitSeconds });
          return run(native, started);
        },
        dispose() {
          native.dispose();
        },
      };
    },
  };
}

function statusName(highs: Highs, code: number): string {
  const entry = Object.entries(highs.constants.modelStatus).find(([, v]) => v === code);
  return entry ? entry[0] : `status ${code}`;
}
