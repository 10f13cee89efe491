// Alternatives that re-seat other bookings, for a booking in manual review: at each nearby start time where
// no free table seats the party, would moving bookings that may still move (not seated, not placed by staff,
// not starting soon) make room? At every time, counting first (it refutes most full times at once), then the
// bounded re-seating search; then the exact solver at the times neither settled, in what is left of the
// budget; nearest times first, up to three. An offer is a suggestion: Postgres re-checks every move
// and every table when an operator takes it (ops.accept_alternative).
import type { Move } from "../domain/move.ts";
import type { Snapshot } from "../domain/snapshot.ts";
import { moreTimeMayDecide, NEIGHBOURHOODS_MS, planExactly, refuteAtTheStay } from "./exact/fallback.ts";
import type { Plan } from "./planner.ts";
import type { ExactSolver } from "./exact/highs.ts";
import { planWithMoves, type ReoptimizeOptions } from "./reoptimize.ts";

/** A start time to try, and the window the booking would block there (its buffers included). */
export interface ReseatingProbe {
  readonly startAt: number;
  readonly windowStart: number;
  readonly windowEnd: number;
}

export interface ReseatingOffer {
  readonly startAt: number;
  readonly tableIds: readonly string[];
  readonly moves: readonly Move[];
}

export interface ReseatingOptions {
  readonly strategy: string;
  /** The bounded search's most moves (as re-optimisation's). */
  readonly maxMoves: number;
  /**
   * Time for the whole search, over every time tried: the bounded search gives up where it is when it is spent
   * (the first time is always started), no further time is tried, and the solver gets only what is left.
   */
  readonly budgetMs: number;
  readonly limit?: number;
  readonly solver?: ExactSolver;
  readonly tablesFor?: ReoptimizeOptions["tablesFor"];
}

export interface ReseatingResult {
  readonly offers: ReseatingOffer[];
  /**
   * The start times (ms) not decided before the budget ran out, nearest first, nearer than the last offer kept:
   * those the solver never got to, or got too little of the budget for. A later search of these alone goes on
   * with this one (the database, which merges its offers with this one's, drops those farther than the third
   * of them all).
   */
  readonly undecided: number[];
  /** Those it spent half the budget or more on without a verdict: not worth a later search. */
  readonly exhausted: number[];
}

/** Most moves one offer may ask of an operator (public.review_offer_reseating accepts no more). */
export const MAX_OFFER_MOVES = 20;
export const DEFAULT_RESEATING_LIMIT = 3;
/**
 * Searches of one review at most, each in a request of its own: a search whose budget ran out goes on with the
 * times it left undecided. The database counts them (private.reseating_searches_per_review()).
 */
export const RESEATING_SEARCHES_PER_REVIEW = 4;

/**
 * The most the solver may spend refuting one time: its relaxations are linear programs of well under a
 * millisecond each, so this only matters where it stalls, and then it must not take the bounded search's time.
 */
export const REFUTATION_MS = 50;

/** The snapshot as it would be were the booking at the probe's time. */
export function probeSnapshot(snapshot: Snapshot, probe: ReseatingProbe): Snapshot {
  // The snapshot holds everything within its horizon of the booking's own window; at another time the view is
  // narrower by the shift, so a booking the snapshot cannot see all around is never moved.
  const shift = Math.max(
    Math.abs(probe.windowStart - snapshot.windowStart),
    Math.abs(probe.windowEnd - snapshot.windowEnd),
  );
  return {
    ...snapshot,
    startAt: probe.startAt,
    windowStart: probe.windowStart,
    windowEnd: probe.windowEnd,
    horizonMs: snapshot.horizonMs === undefined ? undefined : Math.max(0, snapshot.horizonMs - shift),
  };
}

export async function findReseatingOffers(
  snapshot: Snapshot,
  probes: readonly ReseatingProbe[],
  options: ReseatingOptions,
): Promise<ReseatingResult> {
  const limit = options.limit ?? DEFAULT_RESEATING_LIMIT;
  const deadline = performance.now() + options.budgetMs;
  // Each time's verdict by its index: an offer, null (none there: proven, or tables are free), or absent.
  const verdicts = new Map<number, ReseatingOffer | null>();
  const offerAt = (probe: ReseatingProbe, found: { plan: Plan; moves: readonly Move[] }) =>
    // A plan without moves means tables came free since the free alternatives were searched: those show live.
    found.plan.decision === "assign" && found.moves.length > 0 && found.moves.length <= MAX_OFFER_MOVES
      ? { startAt: probe.startAt, tableIds: found.plan.tableIds, moves: found.moves }
      : null;
  // Whether `limit` offers are already known at times nearer than probe i.
  const enoughBefore = (i: number) => [...verdicts].filter(([j, o]) => j < i && o).length >= limit;
  if (limit < 1) return { offers: [], undecided: [], exhausted: [] };

  // First counting and the bounded search at every time, nearest first: together they settle most times in
  // milliseconds to tenths of a second and find most offers, so the solver's time goes only to the times they
  // could not settle.
  const unsettled: { i: number; at: Snapshot; refutationAsked: boolean; reason: string }[] = [];
  // Time spent at each time, ms: its refutation and bounded search, then its solve.
  const spent = new Map<number, number>();
  /** Times the exact search can never decide: its model too large, or its arrangements too many to list. */
  const hopeless = new Set<number>();
  const timed = async <T>(i: number, work: () => T | Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await work();
    } finally {
      spent.set(i, (spent.get(i) ?? 0) + performance.now() - started);
    }
  };
  for (const [i, probe] of probes.entries()) {
    if (enoughBefore(i) || (i > 0 && performance.now() >= deadline)) break;
    const at = probeSnapshot(snapshot, probe);
    // Most full times are refuted by counting in a few milliseconds, where the bounded search takes tens to
    // hundreds in a large room (on seed 12's reviews at load 1.2: 58 % of the times, 9 against 20 ms on
    // average); it could not find room where no re-seating makes any.
    const refutation = await timed(i, () =>
      refuteAtTheStay(at, {
        timeLimitMs: Math.max(1, Math.min(REFUTATION_MS, deadline - performance.now())),
        solver: options.solver,
        tablesFor: options.tablesFor,
      }));
    if (refutation === "refuted") {
      verdicts.set(i, null);
      continue;
    }
    const bounded = await timed(i, () =>
      planWithMoves(at, {
        strategy: options.strategy,
        maxMoves: options.maxMoves,
        tablesFor: options.tablesFor,
        deadline,
      }));
    // The refutation counts as asked when it asked everything, not when its cap or the deadline cut it short:
    // then the solver's turn asks it again.
    if (bounded.plan.decision === "assign") verdicts.set(i, offerAt(probe, bounded));
    else unsettled.push({ i, at, refutationAsked: refutation === "open", reason: bounded.plan.reason });
  }
  // Then the exact solver at those times, nearest first, in what is left of the budget.
  for (const { i, at, refutationAsked, reason } of unsettled) {
    const left = deadline - performance.now();
    if (enoughBefore(i) || left < 1) break;
    const exact = await timed(i, () =>
      planExactly(at, {
        strategy: options.strategy,
        noFitReason: reason,
        timeLimitMs: left,
        solver: options.solver,
        tablesFor: options.tablesFor,
        // An offer needs any re-seating within the bound on moves, not the fewest.
        neighbourhoods: NEIGHBOURHOODS_MS,
        nearPlan: "any",
        refutationAsked,
      }));
    if (exact.verdict !== "budget_exhausted") {
      verdicts.set(i, exact.verdict === "plan" ? offerAt(probes[i], exact) : null);
    } else if (!moreTimeMayDecide(exact)) {
      hopeless.add(i);
    }
  }
  const kept = [...verdicts].sort(([a], [b]) => a - b).filter(([, o]) => o).slice(0, Math.max(0, limit));
  const offers = kept.map(([, o]) => o!);
  // Times that mattered (nearer than the last offer kept, or all when fewer were found) left without a verdict.
  const cutoff = limit > 0 && kept.length >= limit ? kept[kept.length - 1][0] : probes.length;
  const open = (i: number) => i < cutoff && !verdicts.has(i);
  // A time that took half a budget or more, refutation, bounded search and solve together, without a verdict is not left
  // for a later search: both are deterministic and would run out there again, and the times after it would
  // never be tried.
  // So is one whose model was too large or its arrangements too many to list, however quickly that was found.
  const exhausted = (i: number) =>
    hopeless.has(i) || (options.budgetMs > 0 && (spent.get(i) ?? 0) >= options.budgetMs / 2);
  return {
    offers,
    undecided: probes.filter((_, i) => open(i) && !exhausted(i)).map((p) => p.startAt),
    exhausted: probes.filter((_, i) => open(i) && exhausted(i)).map((p) => p.startAt),
  };
}
