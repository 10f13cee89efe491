// The exact fallback: when neither the plan nor the bounded re-optimisation search seats a booking, decide
// exactly whether any re-seating of the bookings that may still move (not seated, not placed by staff, not
// starting within the lock window) seats it too, moving as few as possible. "None" is proven by the
// solver; running out of its budget is a verdict of its own, never taken for "none". A re-seating found
// when the budget ran out is committed only if it moves at most FEW_MOVES bookings: found near the stay
// first (a small model), then bettered by the whole period if the budget allows. (Re-seating offers for a
// review take the near one as it is: any re-seating within that bound will do.)
import type { Move } from "../../domain/move.ts";
import type { Snapshot } from "../../domain/snapshot.ts";
import type { Plan } from "../planner.ts";
import { CANDIDATE_LIMIT, GROUP_LOOK_LIMIT } from "../candidates.ts";
import { countingShortfall } from "./counting.ts";
import { decode } from "./decode.ts";
import { type ExactSolver, highsSolver, type SolverAnswer } from "./highs.ts";
import { instantProgram, stayInstants } from "./instant.ts";
import { toMilp } from "./milp.ts";
import {
  buildProblem,
  clashFree,
  type ExactModel,
  type ExactProblem,
  type ModelOptions,
  pinned,
  restrict,
  whole,
} from "./model.ts";
import { foldedRelaxation } from "./symmetry.ts";

/**
 * The solver's budget per attempt (the coordinator shares it among the attempt's re-plans). An edge function
 * gets 2 s of CPU per request; loading HiGHS (once per instance), the plan and the bounded search must fit
 * beside it.
 */
export const DEFAULT_EXACT_TIME_LIMIT_MS = 1000;

/**
 * The folded relaxation is asked only when folding left it this small (a few milliseconds to solve). Where
 * locked bookings make the room's parts differ, nothing folds, and the relaxation of a full evening in the
 * 60-table room (about 10,000 columns) took up to 2.7 s: those calls are settled by counting or by the
 * relaxation at an instant, or left to the full model as before.
 */
const MAX_FOLDED_COLUMNS = 2500;

/**
 * Most arrangements (columns) a model may hold. The 60-table room's whole evening, 9,000 to 19,000 columns, took
 * HiGHS 61 MiB; a room of many joinable tables could list hundreds of thousands, which neither the function's
 * 256 MB nor its 2 s of CPU would hold while the model is built, before the solver's budget even starts.
 */
export const MAX_MODEL_COLUMNS = 40_000;

/**
 * The bound on moves of the first solve, and of the solves near the stay. Proven re-seatings on the quality
 * benchmark's days moved 4 to 12 bookings; with the bound, HiGHS settled more of them within the budget (see
 * docs/benchmarks.md). A re-seating those solves find is committed even when the budget ran out before it
 * was proven to move the fewest: it moves no more than proven ones do.
 */
export const FEW_MOVES = 12;

/**
 * The reaches of the neighbourhoods looked at before the whole period: the bookings overlapping the stay,
 * then those within an hour of it. The whole period's model of a full 60-table room takes HiGHS 1 to 4 s,
 * where the neighbourhoods' take tens of milliseconds: on 60 such models a re-seating was found for 50 within
 * a 1 s budget, against 42 with the whole period alone (docs/benchmarks.md, "Near the time first").
 */
export const NEIGHBOURHOODS_MS: readonly number[] = [0, 60 * 60_000];

export interface ExactOptions extends ModelOptions {
  /** The strategy named in the plan (the one whose plan found nothing). */
  readonly strategy: string;
  /** Why the plan and the bounded search found nothing: the base of the reasons this returns. */
  readonly noFitReason: string;
  readonly timeLimitMs?: number;
  readonly solver?: ExactSolver;
  /** The bound on moves of the first solve (FEW_MOVES). */
  readonly fewMoves?: number;
  /**
   * Before the whole period is solved, solve with only the bookings within each of these reaches (ms,
   * ascending) of the new booking's window free to move, the rest held where they are (NEIGHBOURHOODS_MS).
   * A re-seating found so moves at most the bound on moves, but is not proven to move the fewest.
   */
  readonly neighbourhoods?: readonly number[];
  /**
   * What a re-seating found near the stay is taken for. "fewest" (the default, the fallback's promise): the
   * whole period is then asked for one that moves fewer bookings, in what is left of the budget; its "none"
   * proves the near one the fewest, and when the budget runs out first the near one stands, unproven. "any"
   * (the re-seating offers of a review, where any re-seating within the bound will do): taken as it is.
   */
  readonly nearPlan?: "fewest" | "any";
  /**
   * The caller has asked `refuteAtTheStay` of this snapshot, and it answered "open": counting and the
   * relaxations at the instants of the stay are not asked again (about 10 ms a time in an 80-table room).
   */
  readonly refutationAsked?: boolean;
}

export interface ExactOutcome {
  /** plan: seated, maybe after moves; none: proven impossible; budget_exhausted: undecided. */
  readonly verdict: "plan" | "none" | "budget_exhausted";
  /** As planWithMoves returns it; no_fit carries the manual-review reason. */
  readonly plan: Plan;
  readonly moves: Move[];
  /** Bookings the search could move (the affected period). */
  readonly movable: number;
  /**
   * Whether the verdict is proven: "none" always, budget_exhausted never; a plan is proven to move as few
   * bookings as any, or (false) moves at most the bound on moves: the best the bounded solve found in its
   * budget, or one found with the bookings beyond a neighbourhood held.
   */
  readonly proven: boolean;
  /** Why the solver failed (HiGHS did not load, or threw), for a log line; the verdict is budget_exhausted. */
  readonly solverError?: string;
  /** Milliseconds spent loading the solver (a cold instance), which the budget did not count. */
  readonly solverLoadMs?: number;
  /** The solver ran out of memory, not time; the verdict is budget_exhausted. */
  readonly outOfMemory?: true;
  /**
   * Some arrangements could not be listed (a floor plan that joins so many tables that the candidate search
   * stopped): no "none" is proven, and asking again with more time decides nothing more.
   */
  readonly incomplete?: true;
}

/**
 * Whether the search ran out of time before deciding, so that more of it may still decide: not once it has a
 * verdict, nor when its model was too large or its arrangements too many to list, however long it is given.
 */
export const moreTimeMayDecide = (outcome: ExactOutcome): boolean =>
  outcome.verdict === "budget_exhausted" && !outcome.outOfMemory && !outcome.incomplete;

/**
 * What counting and the relaxations at the instants of the stay say of a time: "refuted" (no re-seating of the
 * bookings that may still move seats the booking), "open" (every one was asked and none refuted it) or
 * "undecided" (the time ran out, or the solver failed, before all were asked). The fallback's first and
 * cheapest step (about 10 ms in an 80-table room with 280 bookings), for a caller that asks at many times
 * and would otherwise search each with moves first; an "open" time need not be asked again
 * (`refutationAsked`).
 */
export type Refutation = "refuted" | "open" | "undecided";

export async function refuteAtTheStay(
  snapshot: Snapshot,
  options: ModelOptions & { readonly timeLimitMs: number; readonly solver?: ExactSolver },
): Promise<Refutation> {
  const { solver, loadingMs } = failSafe(options.solver ?? highsSolver);
  const started = performance.now();
  const timeLeft = () => options.timeLimitMs - (performance.now() - started - loadingMs());
  const listing = { complete: true };
  const budget = { outOfTime: () => timeLeft() <= 0, stopped: false };
  const problem = buildProblem(snapshot, { ...options, listing, budget });
  if (budget.stopped) return "undecided";
  const answer = problem ? await refutedAtTheStay(problem, snapshot, solver.decide, timeLeft) : "refuted";
  // Refuted over arrangements not all listed is no proof.
  return answer === "refuted" && !listing.complete ? "undecided" : answer;
}

/**
 * The solver as the fallback asks it: one that fails (HiGHS does not load, or throws) leaves the question
 * undecided, as running out of budget does, since it says nothing about the room; after one failure nothing
 * more is asked of it (a HiGHS that does not load would otherwise be loaded again at every question). It is
 * loaded before the first question, not before a search that asks none, and `loadingMs` is the time that took
 * (a cold instance's first hard booking), which no budget counts.
 */
interface SafeSolver {
  readonly solver: ExactSolver;
  readonly error: () => string | undefined;
  readonly loadingMs: () => number;
}

function failSafe(given: ExactSolver): SafeSolver {
  let error: string | undefined;
  let loadingMs = 0;
  let loaded: Promise<void> | undefined;
  const load = () =>
    loaded ??= (async () => {
      const at = performance.now();
      try {
        await given.ready?.();
      } finally {
        loadingMs += performance.now() - at;
      }
    })();
  const ask = async <T>(question: () => Promise<T>, undecided: T): Promise<T> => {
    if (error !== undefined) return undecided;
    try {
      await load();
      return await question();
    } catch (failure) {
      error = failure instanceof Error ? failure.message : String(failure);
      return undecided;
    }
  };
  return {
    solver: {
      decide: (program, ms) => ask(() => given.decide(program, ms), "undecided"),
      solve: (milp, ms) => ask(() => given.solve(milp, ms), { status: "budget_exhausted", why: "time" }),
    },
    error: () => error,
    loadingMs: () => loadingMs,
  };
}

async function refutedAtTheStay(
  problem: ExactProblem,
  snapshot: Snapshot,
  decide: ExactSolver["decide"],
  timeLeft: () => number,
): Promise<Refutation> {
  // Most refusals in a full room are settled by counting, without loading or running the solver.
  if (countingShortfall(problem, snapshot.tables, () => timeLeft() <= 0)) return "refuted";
  // The full model branches over permutations of interchangeable tables; the relaxation at each instant of
  // the stay counts them instead, and settles most of the refusals counting alone cannot.
  let answered: Refutation = "open";
  for (const instant of stayInstants(problem)) {
    const program = instantProgram(problem, instant);
    if (!program) continue;
    const left = timeLeft();
    if (left <= 0) return "undecided";
    const answer = await decide(program, left);
    if (answer === "infeasible") return "refuted";
    if (answer === "undecided") answered = "undecided";
  }
  return answered;
}

/** The sentence of a "<code>: <sentence>" reason, for a reason of another code about the same booking. */
export const reasonSentence = (reason: string) => reason.slice(reason.indexOf(": ") + 2);

export async function planExactly(snapshot: Snapshot, options: ExactOptions): Promise<ExactOutcome> {
  // A solver that fails must not count as the attempt's error (which feeds the restaurant's circuit breaker).
  const safe = failSafe(options.solver ?? highsSolver);
  const outcome = await searchExactly(snapshot, options, safe);
  const loading = Math.round(safe.loadingMs());
  return loading > 0 ? { ...outcome, solverLoadMs: loading } : outcome;
}

async function searchExactly(
  snapshot: Snapshot,
  options: ExactOptions,
  { solver, error: solverError, loadingMs }: SafeSolver,
): Promise<ExactOutcome> {
  const limit = options.timeLimitMs ?? DEFAULT_EXACT_TIME_LIMIT_MS;
  const started = performance.now();
  // The budget spent: loading HiGHS (a cold instance's first hard booking) is not taken from it.
  const spent = () => performance.now() - started - loadingMs();
  const listing = { complete: true };
  const budget = { outOfTime: () => spent() >= limit, stopped: false };
  const problem = buildProblem(snapshot, { ...options, listing, budget });
  const movable = problem ? problem.movable.length : (snapshot.placed ?? []).filter((p) => !p.locked).length;
  const bookings = `${movable} booking${movable === 1 ? "" : "s"}`;
  const noFit = (reason: string): Plan => ({
    decision: "no_fit",
    strategy: options.strategy,
    reason,
    candidates: 0,
  });
  // Over arrangements not all listed, no answer proves that none fits: said as such.
  const none = (): ExactOutcome =>
    !listing.complete ? exhausted({ status: "budget_exhausted", why: "time" }) : ({
      verdict: "none",
      plan: noFit(
        `${options.noFitReason}; no re-seating of the ${bookings} that may still move makes room ` +
          `(exact search)`,
      ),
      moves: [],
      movable,
      proven: true,
    });
  if (budget.stopped) return exhausted({ status: "budget_exhausted", why: "time" });
  if (!problem) return none();
  if (
    !options.refutationAsked &&
    await refutedAtTheStay(problem, snapshot, solver.decide, () => limit - spent()) === "refuted"
  ) {
    return none();
  }
  // Building the whole period's model and its relaxation takes a while in a large room: not with no time left.
  if (spent() >= limit) return exhausted({ status: "budget_exhausted", why: "time" });
  const columns = [problem.subject, ...problem.movable].reduce((n, item) => n + item.options.length, 0);
  if (columns > MAX_MODEL_COLUMNS) {
    return exhausted(
      { status: "budget_exhausted", why: "memory" },
      `was not run: its model would hold ${columns} arrangements, more than a function's memory allows ` +
        `(${MAX_MODEL_COLUMNS})`,
    );
  }
  // The linear relaxation of the whole period refutes most of what is left (it sees how bookings chain over
  // time), once the room's interchangeable parts are folded together, which makes it small enough to ask.
  const all = whole(problem);
  const allMilp = toMilp(all);
  const folded = foldedRelaxation(all, allMilp, snapshot.tables.map((t) => t.id));
  let relaxed: Awaited<ReturnType<ExactSolver["decide"]>> | null = null;
  if (folded.columns.length <= MAX_FOLDED_COLUMNS) {
    const left = limit - spent();
    relaxed = left > 0 ? await solver.decide(folded, left) : null;
    if (relaxed === "infeasible") return none();
  }
  // When the whole period's relaxation has a solution, a re-seating usually exists, and the relaxation around
  // the stay answers with a clash (all six such calls of the 60-table room's benchmark days did): solve the
  // whole period at once.
  const first = relaxed === "feasible" ? all : restrict(problem, [snapshot.windowStart, snapshot.windowEnd]);
  // Re-seatings that move few bookings first: bounding the moves prunes the search, and the fewest moves
  // within the bound are the fewest of all. Only when none is that small is the bound lifted, so "none"
  // stays a proof over every re-seating.
  const fewMoves = options.fewMoves ?? FEW_MOVES;
  // The whole period's model of a full room (9,000 to 19,000 columns) took HiGHS 1 to 4 s; with the bookings
  // beyond the stay held it is much smaller, and most re-seatings for one party are found there. Asked before
  // the whole period is: at once where the solve starts from it, or once the stay's model answered with a
  // clash (that model goes first, as its "none" is a proof and the near ones' is not).
  let nearTried = false;
  const nearFirst = async (): Promise<ExactOutcome | null> => {
    nearTried = true;
    let held = 0;
    for (const reach of options.neighbourhoods ?? []) {
      const near = pinned(problem, reach);
      if (!near || limit - spent() <= 0) break;
      // A wider reach holds a subset of the bookings a narrower one held: as many means the same model.
      const holding = near.items.filter((item, i) => item !== all.items[i]).length;
      if (holding === held) continue;
      held = holding;
      const found = await settle(near, fewMoves);
      if (found.answer.status === "optimal" || found.answer.status === "feasible") {
        const nearby = { ...verdict(found.answer, found.model, fewMoves), proven: false };
        return options.nearPlan === "any" ? nearby : await fewerThan(nearby);
      }
    }
    return null;
  };
  // Whether the whole period seats the booking moving fewer than a re-seating found near the stay: bounded
  // by it, the solve is smaller than the whole period's unbounded one, and its "none" is the proof.
  const fewerThan = async (nearby: ExactOutcome): Promise<ExactOutcome> => {
    const moved = nearby.moves.length;
    if (moved === 0) return { ...nearby, proven: true };
    const fewer = await settle(all, moved - 1);
    if (fewer.answer.status === "infeasible") return { ...nearby, proven: listing.complete };
    if (fewer.answer.status === "optimal" || fewer.answer.status === "feasible") {
      return verdict(fewer.answer, all, moved - 1);
    }
    return nearby;
  };
  if (first === all) {
    const near = await nearFirst();
    if (near) return near;
  }
  if (problem.movable.length > fewMoves) {
    const few = await settle(first, fewMoves);
    if (few.near) return few.near;
    if (few.answer.status !== "infeasible") return verdict(few.answer, few.model, fewMoves);
    // None within the bound at all, so none near the stay either (those solves are bounded too).
    nearTried = true;
  }
  const any = await settle(first);
  return any.near ?? verdict(any.answer, any.model);

  /** The answer for a model, or, where its answer clashed, a re-seating found near the stay (`near`). */
  async function settle(
    start: ExactModel,
    movesAtMost?: number,
  ): Promise<{ answer: SolverAnswer; model: ExactModel; near?: ExactOutcome }> {
    for (let model = start;;) {
      const milp = model === all ? allMilp : toMilp(model);
      // Building a model takes a while in a large room: its time comes out of the solver's.
      const left = limit - spent();
      const answer: SolverAnswer = left > 0
        ? await solver.solve(movesAtMost === undefined ? milp : { ...milp, movesAtMost }, left)
        : { status: "budget_exhausted", why: "time" };
      if (
        (answer.status === "optimal" || answer.status === "feasible") &&
        !clashFree(problem!, model, answer.choice)
      ) {
        // The relaxation's answer clashes outside its range. Widening it step by step to the bookings each
        // answer touched took three or four solves in a full room, each slower than the last: take the
        // whole period at once. The whole problem is no relaxation, so its answers never clash.
        if (model === all || (all.within[0] === model.within[0] && all.within[1] === model.within[1])) {
          throw new Error("the exact model's answer clashes although it covers every booking that may move");
        }
        if (!nearTried) {
          const near = await nearFirst();
          if (near) return { answer, model, near };
        }
        model = all;
        continue;
      }
      return { answer, model };
    }
  }

  function verdict(answer: SolverAnswer, model: ExactModel, movesAtMost?: number): ExactOutcome {
    if (answer.status === "infeasible") return none();
    // Proven the fewest moves; or found by the bounded solve before its budget ran out, so it moves at most
    // the bound, which is better than sending a party the room can seat to review.
    if (answer.status === "optimal" || (answer.status === "feasible" && movesAtMost !== undefined)) {
      const { plan, moves } = decode(snapshot, model, answer.choice, options.strategy);
      return {
        verdict: "plan",
        plan,
        moves,
        movable,
        proven: answer.status === "optimal" && listing.complete,
      };
    }
    return exhausted(answer);
  }

  /** `notRun`: why the search did not start, for a reason of its own. */
  function exhausted(answer: SolverAnswer, notRun?: string): ExactOutcome {
    // Out of budget, or an unbounded re-seating without proof that it moves as few bookings as any: in a
    // full room the solver's first ones move nearly every booking (220 to 265 of about 250), which no one
    // should commit to seat one party.
    const sentence = reasonSentence(options.noFitReason);
    const memory = answer.status === "budget_exhausted" && answer.why === "memory";
    const failure = solverError();
    const why = failure !== undefined
      ? "stopped when the solver failed"
      : !listing.complete
      ? `could not list every arrangement (the floor plan joins so many tables that the search stopped at ` +
        `${CANDIDATE_LIMIT} arrangements or ${GROUP_LOOK_LIMIT} combinations)`
      : `ran out of ${memory ? "the solver's memory" : `its ${limit} ms budget`}`;
    const search =
      `exact_search_budget_exhausted: ${sentence}; the exact search over the ${bookings} that may ` +
      `still move`;
    return {
      verdict: "budget_exhausted",
      plan: noFit(
        notRun !== undefined
          ? `${search} ${notRun}`
          : `${search} ${why} before finding the re-seating with the fewest moves or proving there is none`,
      ),
      moves: [],
      movable,
      proven: false,
      ...(failure !== undefined ? { solverError: failure } : {}),
      ...(memory ? { outOfMemory: true as const } : {}),
      ...(!listing.complete ? { incomplete: true as const } : {}),
    };
  }
}
