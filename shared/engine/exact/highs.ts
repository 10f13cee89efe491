// The exact fallback's only impure part: HiGHS (WebAssembly, from npm) solving the 0-1 program. Loaded on
// first use and kept for the instance's life, so a function instance that never needs it never pays for it
// (about 0.2 s and 20 MB of WebAssembly memory).
import type { Highs } from "../../deps-highs.ts";
import type { Milp } from "./milp.ts";

export type SolverAnswer =
  /** Option index per item; "feasible": the time ran out before the fewest moves were proven. */
  | { status: "optimal" | "feasible"; choice: readonly number[] }
  | { status: "infeasible" }
  | { status: "budget_exhausted"; why: "time" | "memory" };

/** A feasibility question in general form (the relaxations the fallback asks before the full model). */
export interface IntegerProgram {
  readonly columns: readonly { readonly upper: number; readonly integer: boolean }[];
  /** Each row: lower ≤ Σ coefficient × column ≤ upper. */
  readonly rows: readonly {
    readonly terms: readonly (readonly [column: number, coefficient: number])[];
    readonly lower: number;
    readonly upper: number;
  }[];
}

export type Decision = "feasible" | "infeasible" | "undecided";

export interface ExactSolver {
  solve(milp: Milp, timeLimitMs: number): Promise<SolverAnswer>;
  /** Whether the program has a solution; "undecided" when the time or memory ran out. */
  decide(program: IntegerProgram, timeLimitMs: number): Promise<Decision>;
  /** Load what the questions need (HiGHS: once per instance), so the load is not taken from their time. */
  ready?(): Promise<void>;
}

/** Models up to this many columns are presolved (small rooms); larger ones are not (see `run`). */
const PRESOLVE_MAX_COLUMNS = 5000;

let loading: Promise<Highs> | null = null;

/** Load HiGHS now (the benchmark times the load apart from the solves). */
export function loadHighs(): Promise<Highs> {
  loading ??= import("../../deps-highs.ts").then((m) => {
    // A CommonJS package with ES-style declarations: the checker types the default import as the module,
    // while Deno runs the ES build, whose default export is the loader.
    const loader = m.default as unknown as typeof m.default.default;
    return loader();
  }).catch((error) => {
    loading = null;
    throw error;
  });
  return loading;
}

/** Bytes of WebAssembly memory HiGHS holds, once loaded (it grows with the largest model, never shrinks). */
export async function highsMemoryBytes(): Promise<number | null> {
  return loading ? (await loading).memoryBytes : null;
}

export const highsSolver: ExactSolver = {
  async ready() {
    await loadHighs();
  },
  async solve(milp, timeLimitMs) {
    const highs = await loadHighs();
    return guarded(() => run(highs, milp, timeLimitMs), { status: "budget_exhausted", why: "memory" });
  },
  async decide(program, timeLimitMs) {
    const highs = await loadHighs();
    return guarded(() => decide(highs, program, timeLimitMs), "undecided");
  },
};

function guarded<T>(task: () => T, outOfMemory: T): T {
  try {
    return task();
  } catch (error) {
    // Out of WebAssembly memory aborts the module: load a fresh one next time, and say why this one failed.
    if (!(error instanceof WebAssembly.RuntimeError)) throw error;
    loading = null;
    return outOfMemory;
  }
}

function decide(highs: Highs, program: IntegerProgram, timeLimitMs: number): Decision {
  const { columns, rows } = program;
  const starts = new Int32Array(rows.length + 1);
  rows.forEach((row, r) => (starts[r + 1] = starts[r] + row.terms.length));
  const finite = (x: number) => (Number.isFinite(x) ? x : Math.sign(x) * highs.infinity);
  const model = highs.createModel({
    numCols: columns.length,
    numRows: rows.length,
    sense: highs.constants.objectiveSense.minimize,
    colCost: new Float64Array(columns.length),
    colLower: new Float64Array(columns.length),
    colUpper: columns.map((c) => finite(c.upper)),
    rowLower: rows.map((r) => finite(r.lower)),
    rowUpper: rows.map((r) => finite(r.upper)),
    matrix: {
      format: "csr",
      numRows: rows.length,
      numCols: columns.length,
      starts,
      indices: Int32Array.from(rows.flatMap((r) => r.terms.map(([c]) => c))),
      values: Float64Array.from(rows.flatMap((r) => r.terms.map(([, v]) => v))),
    },
    integrality: Int32Array.from(
      columns.map((c) =>
        c.integer ? highs.constants.variableType.integer : highs.constants.variableType.continuous
      ),
    ),
  });
  try {
    model.options.set({ output_flag: false, time_limit: timeLimitMs / 1000, random_seed: 1 });
    runPresolvedOrNot(model, timeLimitMs, true);
    const code = model.getModelStatus();
    if (code === highs.constants.modelStatus.infeasible) return "infeasible";
    const found = model.info.get("primal_solution_status") === highs.constants.solutionStatus.feasible;
    return found ? "feasible" : "undecided";
  } finally {
    model.dispose();
  }
}

function run(highs: Highs, milp: Milp, timeLimitMs: number): SolverAnswer {
  const { columns } = milp;
  const bounded = milp.movesAtMost !== undefined;
  const rows = bounded ? [...milp.rows, milp.cost.flatMap((c, i) => (c > 0 ? [i] : []))] : milp.rows;
  const starts = new Int32Array(rows.length + 1);
  rows.forEach((row, r) => (starts[r + 1] = starts[r] + row.length));
  const model = highs.createModel({
    numCols: columns,
    numRows: rows.length,
    sense: highs.constants.objectiveSense.minimize,
    colCost: milp.cost,
    colLower: new Float64Array(columns),
    colUpper: new Float64Array(columns).fill(1),
    rowLower: rows.map((_, r) => (r < milp.items ? 1 : -highs.infinity)),
    rowUpper: rows.map((_, r) => (r === milp.rows.length ? milp.movesAtMost! : 1)),
    matrix: {
      format: "csr",
      numRows: rows.length,
      numCols: columns,
      starts,
      indices: Int32Array.from(rows.flat()),
      values: new Float64Array(starts[rows.length]).fill(1),
    },
    integrality: new Int32Array(columns).fill(highs.constants.variableType.integer),
  });
  try {
    model.options.set({
      output_flag: false,
      time_limit: timeLimitMs / 1000,
      // The objective counts moves, a whole number: a gap below one move is optimal.
      mip_abs_gap: 0.999,
      // The pool of cuts and conflicts (10,000 by default) is what grew WebAssembly memory, which never
      // shrinks: a 441-column model of a small room took 53 MiB more in 0.8 s, and one instance ended at
      // 182 MiB, past a 150 MB edge function. At 500 it peaked at 73 MiB over the same 108 days, with the
      // same covers and verdicts within one (docs/benchmarks.md, "HiGHS memory").
      mip_pool_soft_limit: 500,
      random_seed: 1,
    });
    // Presolve finds little to remove in a full room's 0-1 models and costs time it cannot spare: without
    // it, more of the 60-table room's hardest calls were settled within their budget. In small rooms'
    // models it settled more calls within the budget (its symmetry detection among them).
    runPresolvedOrNot(model, timeLimitMs, columns <= PRESOLVE_MAX_COLUMNS);
    const code = model.getModelStatus();
    if (code === highs.constants.modelStatus.infeasible) return { status: "infeasible" };
    if (model.info.get("primal_solution_status") !== highs.constants.solutionStatus.feasible) {
      return { status: "budget_exhausted", why: "time" };
    }
    const value = model.getSolution().colValue;
    const choice = milp.columnOf.map((first, i) => {
      const end = i + 1 < milp.items ? milp.columnOf[i + 1] : columns;
      for (let c = first; c < end; c++) if (value[c] > 0.5) return c - first;
      throw new Error(`HiGHS returned no arrangement for item ${i}`);
    });
    return { status: code === highs.constants.modelStatus.optimal ? "optimal" : "feasible", choice };
  } finally {
    model.dispose();
  }
}

type HighsModel = Pick<
  ReturnType<Highs["createModel"]>,
  "options" | "run" | "getRunTime" | "zeroAllClocks" | "clearSolver"
>;

/**
 * Run the model, presolved if asked. HiGHS 1.15.3's presolve fails outright ("run failed with HiGHS status
 * -1") on some small 0-1 models that solve without it (a five-table room with three bookings, found by the
 * fallback's property test): such a failure says nothing about the room, so the same model is run again
 * unpresolved in the time left, rather than leaving the booking undecided. Only the solve's own failure is
 * retried; a lifecycle or validation error, or an aborted module (a RuntimeError), is not.
 */
export function runPresolvedOrNot(model: HighsModel, timeLimitMs: number, presolve: boolean): void {
  model.options.set({ presolve: presolve ? "on" : "off" });
  if (!presolve) {
    model.run();
    return;
  }
  try {
    model.run();
  } catch (error) {
    if ((error as { operation?: unknown }).operation !== "run") throw error;
    // HiGHS's time limit counts every run of the model: the retry gets what the first one left, afresh.
    const left = timeLimitMs - model.getRunTime() * 1000;
    if (left <= 0) throw error;
    model.zeroAllClocks();
    model.clearSolver();
    model.options.set({ presolve: "off", time_limit: left / 1000 });
    model.run();
  }
}
