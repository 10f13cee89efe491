// The two exact yardsticks. FCFS-repack: requests in booking order, each accepted iff every accepted request
// plus it can still be seated by some assignment. Clairvoyant: the most covers any subset of the day's
// requests can seat. Both use exactly the arrangements the engine may choose from.
import { planWithMoves } from "../../../shared/engine/reoptimize.ts";
import type { Day, Request } from "./demand.ts";
import { arrangements, isLocked, Occupancy } from "./floor.ts";
import type { PackingItem, PackingSolve, PackingSolver } from "./packing-milp.ts";

export interface YardstickRun {
  readonly tables: readonly (readonly string[] | null)[];
  /** Wall time of the whole yardstick. */
  readonly seconds: number;
  readonly solves: number;
  /** Slowest single MILP solve. */
  readonly maxSolveSeconds: number;
  /** Requests whose feasibility the solver could not settle in its time limit (counted as refused). */
  readonly undetermined: number;
  /** Proven upper bound on covers (clairvoyant only) and the relative gap to it. */
  readonly bound?: number;
  readonly gap?: number;
  readonly status?: PackingSolve["status"];
}

export interface YardstickOptions {
  readonly timeLimitSeconds: number;
}

function tableIndex(day: Day): Map<string, number> {
  return new Map(day.layout.tables.map((t, i) => [t.id, i]));
}

function optionsOf(day: Day, r: Request, index: Map<string, number>): number[][] {
  return arrangements(day.layout, r).map((c) => c.tables.map((t) => index.get(t.id)!));
}

function optionIndex(day: Day, r: Request, tableIds: readonly string[]): number {
  const key = [...tableIds].sort().join();
  return arrangements(day.layout, r).findIndex((c) => c.tables.map((t) => t.id).sort().join() === key);
}

export async function fcfsRepack(
  solver: PackingSolver,
  day: Day,
  options: YardstickOptions,
): Promise<YardstickRun> {
  const started = performance.now();
  const index = tableIndex(day);
  const seated = new Occupancy(day);
  let solves = 0;
  let maxSolveSeconds = 0;
  let undetermined = 0;

  // Accepted requests are never dropped, so a party that cannot be seated at some time can never be seated
  // at that time later, on the same tables or fewer (a walk-in may also use the bar).
  const refused = new Set<string>();
  const key = (r: Request, walkIn: boolean) => `${r.partySize}|${r.windowStart}|${walkIn}`;
  for (const r of day.requests) {
    const free = arrangements(day.layout, r).find((c) =>
      seated.isFree(c.tables.map((t) => t.id), r.windowStart, r.windowEnd)
    );
    if (free) {
      seated.seat(r.index, free.tables.map((t) => t.id));
      continue;
    }
    if (refused.has(key(r, r.walkIn)) || refused.has(key(r, true))) continue;
    if (repackedByMoves(seated, r)) continue;
    // Exact: relax to the requests overlapping a time range; infeasible there means infeasible for the
    // day. A solution that also fits around everything outside the range is a new seating for the day.
    let range: [number, number] = [r.windowStart, r.windowEnd];
    for (;;) {
      const inRange = day.requests.filter((a) =>
        seated.tablesOf.has(a.index) && a.windowStart < range[1] && range[0] < a.windowEnd
      );
      const items: PackingItem[] = [...inRange, r].map((a) => {
        const current = a === r ? -1 : optionIndex(day, a, seated.tablesOf.get(a.index)!);
        // A party already seated (or on its way) when the request comes in keeps its tables.
        const opts = a !== r && isLocked(a, r)
          ? [optionsOf(day, a, index)[current]]
          : optionsOf(day, a, index);
        return {
          windowStart: a.windowStart,
          windowEnd: a.windowEnd,
          options: opts,
          values: opts.map((_, k) => (opts.length === 1 || k === current ? 1 : 0)),
          required: true,
        };
      });
      const solve = await solver.solve(items, {
        tableCount: day.layout.tables.length,
        timeLimitSeconds: options.timeLimitSeconds,
        relativeGap: 0.05,
        within: range,
      });
      solves++;
      maxSolveSeconds = Math.max(maxSolveSeconds, solve.seconds);
      if (solve.status === "infeasible") {
        refused.add(key(r, r.walkIn));
        break;
      }
      if (solve.status === "unknown") {
        undetermined++;
        break;
      }
      const original = inRange.map((a) => seated.tablesOf.get(a.index)!);
      const moved = [...inRange, r].map((a, i) => ({
        a,
        ids: items[i].options[solve.choice[i]!].map((t) => day.layout.tables[t].id),
      }));
      for (const a of inRange) seated.unseat(a.index);
      if (seatAll(seated, moved)) break;
      inRange.forEach((a, i) => seated.seat(a.index, original[i]));
      const wider: [number, number] = [
        Math.min(range[0], ...inRange.map((a) => a.windowStart)),
        Math.max(range[1], ...inRange.map((a) => a.windowEnd)),
      ];
      if (wider[0] === range[0] && wider[1] === range[1]) {
        throw new Error("relaxation over the whole day cannot clash");
      }
      range = wider;
    }
  }
  return {
    tables: seated.result(),
    seconds: (performance.now() - started) / 1000,
    solves,
    maxSolveSeconds,
    undetermined,
  };
}

/** Seat every request where the solve put it, unless one clashes with a request outside the range. */
function seatAll(seated: Occupancy, moved: readonly { a: Request; ids: readonly string[] }[]): boolean {
  const done: number[] = [];
  for (const { a, ids } of moved) {
    if (!seated.isFree(ids, a.windowStart, a.windowEnd)) {
      for (const i of done) seated.unseat(i);
      return false;
    }
    seated.seat(a.index, ids);
    done.push(a.index);
  }
  return true;
}

/** The engine's own re-optimisation, with deeper search, finds most repacks without a solver. */
function repackedByMoves(seated: Occupancy, r: Request): boolean {
  const { snapshot, tablesFor } = seated.reoptimizationInput(r);
  const result = planWithMoves(snapshot, {
    strategy: "optimal_fit",
    maxMoves: 3,
    maxExplored: 3000,
    tablesFor,
  });
  if (result.plan.decision !== "assign") return false;
  seated.seatWithMoves(r, result.plan.tableIds, result.moves);
  return true;
}

export async function clairvoyant(
  solver: PackingSolver,
  day: Day,
  start: YardstickRun,
  options: YardstickOptions,
): Promise<YardstickRun> {
  const started = performance.now();
  const index = tableIndex(day);
  const items: PackingItem[] = day.requests.map((r) => {
    const opts = optionsOf(day, r, index);
    const seatedAt = start.tables[r.index];
    return {
      windowStart: r.windowStart,
      windowEnd: r.windowEnd,
      options: opts,
      values: opts.map(() => r.partySize),
      required: false,
      start: seatedAt ? optionIndex(day, r, seatedAt) : null,
    };
  });
  const solve = await solver.solve(items, {
    tableCount: day.layout.tables.length,
    timeLimitSeconds: options.timeLimitSeconds,
  });
  // Without a solution of its own (the solver gave up or aborted) the warm start is the best known.
  const solved = solve.status === "optimal" || solve.status === "feasible";
  const tables = solved
    ? day.requests.map((_, i) => {
      const k = solve.choice[i];
      return k == null ? null : items[i].options[k].map((t) => day.layout.tables[t].id);
    })
    : start.tables;
  return {
    tables,
    seconds: (performance.now() - started) / 1000,
    solves: 1,
    maxSolveSeconds: solve.seconds,
    undetermined: 0,
    bound: solve.bound,
    gap: solve.gap,
    status: solve.status,
  };
}
