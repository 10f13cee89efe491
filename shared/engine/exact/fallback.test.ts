import fc from "fast-check";
import { assert, assertEquals } from "../../testing/assert.ts";
import type { Snapshot } from "../../domain/snapshot.ts";
import { planWithMoves } from "../reoptimize.ts";
import { allJoined, MIN, T0, table, twoSixTopsApart } from "../../testing/tables.ts";
import { planExactly, refuteAtTheStay } from "./fallback.ts";
import { arbitraryRoom, booking, bruteForce, checkPlan, snapshot } from "../../testing/rooms.ts";
import { type ExactSolver, highsSolver } from "./highs.ts";
import { instantProgram, stayInstants } from "./instant.ts";
import { countingShortfall } from "./counting.ts";
import { buildProblem, pinned, restrict, whole } from "./model.ts";
import { toMilp } from "./milp.ts";
import { foldedRelaxation, interchangeableParts } from "./symmetry.ts";
import type { IntegerProgram } from "./highs.ts";

const NO_FIT = "no_table_fits: no free table or combination seats the party";

const exactly = (
  s: Snapshot,
  solver?: ExactSolver,
  fewMoves?: number,
  neighbourhoods?: number[],
  nearPlan?: "fewest" | "any",
) =>
  planExactly(s, {
    strategy: "scarcity_fit",
    noFitReason: NO_FIT,
    solver,
    timeLimitMs: 10_000,
    fewMoves,
    neighbourhoods,
    nearPlan,
  });

/**
 * A chain the bounded search cannot follow within one move: a 6 on the only 6-top keeps the new party of
 * six out; it fits a pair of 4-tops, one held by a 4, who fits the 4-top a couple holds, who fits the 2-top.
 */
function chain(locked = false) {
  const [six, fourA, fourB, fourC, two] = [table(1, 6), table(2, 4), table(3, 4), table(4, 4), table(5, 2)];
  const tables = [six, fourA, fourB, fourC, two];
  const placed = [
    booking("a-six", 6, [six], 0, 90, true),
    booking("b-four", 4, [fourB], 0, 90, locked),
    booking("c-couple", 2, [fourC], 0, 90),
  ];
  const adjacency: [string, string][] = [[fourA.id, fourB.id]];
  return { tables, placed, adjacency, fourA, fourB, fourC, two };
}

Deno.test("the exact fallback finds the re-seating the bounded search misses, moving as few as possible", async () => {
  const { tables, placed, adjacency, fourA, fourB, fourC, two } = chain();
  const s = snapshot(tables, placed, { partySize: 6 }, { adjacency, maxTables: 2 });
  assertEquals(planWithMoves(s, { strategy: "scarcity_fit", maxMoves: 1 }).plan.decision, "no_fit");
  const result = await exactly(s);
  assertEquals(result.verdict, "plan");
  assert(result.plan.decision === "assign");
  assertEquals([...result.plan.tableIds].sort(), [fourA.id, fourB.id].sort());
  assertEquals(result.moves, [
    { bookingId: "b-four", fromTableIds: [fourB.id], toTableIds: [fourC.id] },
    { bookingId: "c-couple", fromTableIds: [fourC.id], toTableIds: [two.id] },
  ]);
  assertEquals(result.proven, true);
});

Deno.test("re-seatings that move few bookings are solved first; when there is none that small, the bound is lifted", async () => {
  const { tables, placed, adjacency } = chain();
  // A third booking that may move, and need not.
  const spare = table(6, 2);
  const s = snapshot([...tables, spare], [...placed, booking("d-couple", 2, [spare], 0, 90)], {
    partySize: 6,
  }, {
    adjacency,
    maxTables: 2,
  });
  assertEquals(buildProblem(s)!.movable.length, 3);
  const bounds: (number | undefined)[] = [];
  const spy: ExactSolver = {
    solve: (milp, ms) => (bounds.push(milp.movesAtMost), highsSolver.solve(milp, ms)),
    decide: highsSolver.decide,
  };
  // The chain needs two moves: a bound of two finds them in one solve.
  const two = await exactly(s, spy, 2);
  assertEquals([bounds.splice(0), two.verdict, two.moves.length], [[2], "plan", 2]);
  // A bound of one has no re-seating: the second solve, unbounded, finds the same two moves.
  const one = await exactly(s, spy, 1);
  assertEquals([bounds.splice(0), one.verdict, one.moves], [[1, undefined], "plan", two.moves]);
  // As many movable bookings as the bound: the bound could cut nothing, so it is not asked.
  await exactly(s, spy, 3);
  assertEquals(bounds.splice(0), [undefined]);
});

Deno.test("asked to look near the stay first, the solver sees the later bookings held where they are; the re-seating it finds there is taken as it is, or proven the fewest by the whole period", async () => {
  const { tables, placed, adjacency, fourA, fourB, fourC, two } = chain();
  // A couple on a 2-top of its own, a long stay that starts during the new party's, and a four at a 4-top
  // from 140 minutes after the new party's stay ends, which the couple's chains into the affected period.
  const spare = table(6, 2);
  const later = [booking("e-during", 2, [spare], 60, 180), booking("f-after", 4, [fourA], 230, 90)];
  const s = snapshot([...tables, spare], [...placed, ...later], { partySize: 6 }, {
    adjacency,
    maxTables: 2,
  });
  const problem = buildProblem(s)!;
  assertEquals(problem.movable.length, 4, "the couple and the later four are in the affected period");
  // Within an hour of the stay, only the later four is held: it keeps its one arrangement.
  const near = pinned(problem, 60 * MIN)!;
  const held = near.items.filter((item) => item.options.length === 1 && item.current === 0).map((i) => i.id);
  assertEquals(held, ["f-after"]);
  assertEquals(pinned(problem, 180 * MIN), null, "with nothing to hold, there is no smaller model");
  const columns: number[] = [];
  const spy: ExactSolver = {
    solve: (milp, ms) => (columns.push(milp.columns), highsSolver.solve(milp, ms)),
    decide: highsSolver.decide,
  };
  const result = await exactly(s, spy, undefined, [0, 60 * MIN], "any");
  assertEquals(result.verdict, "plan");
  assert(result.plan.decision === "assign");
  assertEquals([...result.plan.tableIds].sort(), [fourA.id, fourB.id].sort());
  assertEquals(result.moves, [
    { bookingId: "b-four", fromTableIds: [fourB.id], toTableIds: [fourC.id] },
    { bookingId: "c-couple", fromTableIds: [fourC.id], toTableIds: [two.id] },
  ]);
  assertEquals(result.proven, false, "only the bookings near the stay could move");
  assertEquals(columns.length, 1, "found by the first solve");
  const wholeColumns = toMilp(whole(problem)).columns;
  assert(columns[0] < wholeColumns, `${columns[0]} columns, fewer than the whole period's`);
  // As the fallback asks it, the whole period is then asked for a re-seating of one move: there is none, so
  // the one found near the stay is proven the fewest.
  const bounds: (number | undefined)[] = [];
  const fewer: ExactSolver = {
    solve: (milp, ms) => (bounds.push(milp.movesAtMost), spy.solve(milp, ms)),
    decide: highsSolver.decide,
  };
  columns.length = 0;
  const fewest = await exactly(s, fewer, undefined, [0, 60 * MIN]);
  assertEquals([fewest.moves, fewest.proven], [result.moves, true]);
  assertEquals(columns.slice(1), [wholeColumns], "the near stay's model, then the whole period's");
  assertEquals(bounds.slice(1), [1], "bounded by one move fewer than the near re-seating's");
  // Without the option, the whole period is solved, as the fallback always did, and the plan is the same.
  const full = await exactly(s);
  assertEquals([full.moves, full.proven], [result.moves, true]);
});

Deno.test("a re-seating found near the stay is bettered by the whole period when moving a later booking takes fewer moves", async () => {
  // The six needs the joined 4-tops A and B, and the four on B stays long. Near the stay the couple on D from
  // 160 minutes is held, so the four can only take H, whose couple takes the 2-top X, whose single takes the
  // 1-top Y: three moves. Moving the later couple (to Z, free from 150, or to A or B, free once the six has
  // left) lets the four take D: two.
  const [a, b, d, h] = [1, 2, 3, 4].map((n) => table(n, 4));
  const [x, y, z] = [table(5, 2), table(6, 1), table(7, 2)];
  const placed = [
    booking("b-four", 4, [b], 0, 200),
    booking("f-later", 2, [d], 160, 140),
    booking("j-couple", 2, [h], 0, 200),
    booking("k-single", 1, [x], 0, 200),
    booking("l-locked", 2, [z], 0, 150, true),
  ];
  const s = snapshot([a, b, d, h, x, y, z], placed, { partySize: 6 }, {
    adjacency: [[a.id, b.id]],
    maxTables: 2,
  });
  const near = await exactly(s, undefined, undefined, [0], "any");
  assertEquals(
    [near.moves.map((m) => m.bookingId), near.proven],
    [["b-four", "j-couple", "k-single"], false],
  );
  const fewest = await exactly(s, undefined, undefined, [0]);
  assertEquals([fewest.moves.map((m) => m.bookingId), fewest.proven], [["b-four", "f-later"], true]);
  assertEquals(fewest.moves[0].toTableIds, [d.id]);
  assert([a.id, b.id, z.id].includes(fewest.moves[1].toTableIds[0]), "the later couple leaves D");
  checkPlan(s, fewest);
  assertEquals(bruteForce(s), 2);
  // When the budget runs out before the whole period answers, the near re-seating stands, unproven.
  const outOfTime: ExactSolver = {
    solve: (milp, ms) =>
      milp.movesAtMost === 2
        ? Promise.resolve({ status: "budget_exhausted", why: "time" })
        : highsSolver.solve(milp, ms),
    decide: highsSolver.decide,
  };
  const stands = await exactly(s, outOfTime, undefined, [0]);
  assertEquals([stands.verdict, stands.moves, stands.proven], ["plan", near.moves, false]);
});

Deno.test("where the solve starts from the stay alone and its answer clashes later on, the solver looks near the stay before the whole period", async () => {
  const { tables, placed, adjacency, fourA, fourB, two } = chain();
  // The couple stays an hour past the new party's window, and the 2-top it would move to is taken from 100 to
  // 200 minutes by another couple; a six at 180 on the locked six's table chains to that one, more than an
  // hour beyond the window.
  const [couple, ...others] = [placed[2], placed[0], placed[1]];
  const long = { ...couple, windowEnd: couple.windowStart + 150 * MIN };
  const later = [booking("g-later", 2, [two], 100, 100), booking("h-far", 6, [tables[0]], 180, 120)];
  const s = snapshot(tables, [...others, long, ...later], { partySize: 6 }, { adjacency, maxTables: 2 });
  const problem = buildProblem(s)!;
  const stay = restrict(problem, [s.windowStart, s.windowEnd]);
  assertEquals(
    stay.items.map((i) => i.id),
    ["new", "b-four", "c-couple"],
    "the stay's model leaves g-later out",
  );
  const [near, hour] = [pinned(problem, 0)!, pinned(problem, 60 * MIN)!];
  const held = (m: typeof near) =>
    m.items.filter((i) => i.options.length === 1 && i.current === 0).map((i) => i.id);
  assertEquals([held(near), held(hour)], [["g-later", "h-far"], ["h-far"]]);
  // The relaxations answer nothing (as where the whole period's is too large to ask): the solve starts from
  // the stay's model, whose answer puts the couple on the 2-top g-later holds.
  const columns: number[] = [];
  const unanswered: ExactSolver = {
    solve: (milp, ms) => (columns.push(milp.columns), highsSolver.solve(milp, ms)),
    decide: () => Promise.resolve("undecided"),
  };
  const result = await exactly(s, unanswered, undefined, [0, 60 * MIN], "any");
  assertEquals(result.verdict, "plan");
  assert(result.plan.decision === "assign");
  assertEquals([...result.plan.tableIds].sort(), [fourA.id, fourB.id].sort());
  assertEquals(result.moves.map((m) => m.bookingId).sort(), ["b-four", "c-couple", "g-later"]);
  assertEquals(result.moves.find((m) => m.bookingId === "c-couple")!.toTableIds, [two.id]);
  assertEquals(result.proven, false, "found with h-far held");
  assertEquals(
    columns,
    [toMilp(stay).columns, toMilp(near).columns, toMilp(hour).columns],
    "the stay's model first, then near the stay; the whole period is never solved",
  );
  checkPlan(s, result);
  assert(!result.moves.some((m) => m.bookingId === "a-six" || m.bookingId === "h-far"));
  // With a bound below the four that may move, the bounded question finds the same near the stay.
  columns.length = 0;
  const bounded = await exactly(s, unanswered, 3, [0, 60 * MIN], "any");
  assertEquals([bounded.moves, bounded.proven], [result.moves, false]);
  assertEquals(columns, [toMilp(stay).columns, toMilp(near).columns, toMilp(hour).columns]);
  // With a bound of one, not even the stay's model has a re-seating that small: none is, near the stay or
  // anywhere, so when the unbounded question's answer clashes, the whole period follows at once.
  columns.length = 0;
  const tight = await exactly(s, unanswered, 1, [0, 60 * MIN], "any");
  assertEquals([tight.moves.length, tight.proven], [3, true]);
  assertEquals(columns, [toMilp(stay).columns, toMilp(stay).columns, toMilp(whole(problem)).columns]);
  // As the fallback asks it, the re-seating found near the stay is then bettered or proven by the whole
  // period, bounded below its three moves: none moves two, so it is proven the fewest.
  columns.length = 0;
  const fewest = await exactly(s, unanswered, undefined, [0, 60 * MIN]);
  assertEquals([fewest.moves, fewest.proven], [result.moves, true]);
  assertEquals(columns.slice(3), [toMilp(whole(problem)).columns]);
  // Without the option the whole period follows the clash, and its plan is proven the fewest.
  columns.length = 0;
  const full = await exactly(s, unanswered);
  assertEquals([full.moves.length, full.proven], [3, true]);
  assertEquals(columns.at(-1), toMilp(whole(problem)).columns, "the whole period was solved");
});

Deno.test("the exact fallback never moves a locked booking: with the chain locked, it proves there is none", async () => {
  const { tables, placed, adjacency } = chain(true);
  const result = await exactly(snapshot(tables, placed, { partySize: 6 }, { adjacency, maxTables: 2 }));
  assertEquals(result.verdict, "none");
  assert(result.plan.decision === "no_fit");
  assert(result.plan.reason.startsWith(`${NO_FIT}; no re-seating of the 1 booking that`), result.plan.reason);
});

Deno.test("a room whose model HiGHS's presolve fails on is still settled: the model is solved unpresolved", async () => {
  // Found by the property below (CI seed 1978857000): HiGHS 1.15.3 fails with status -1 when it presolves
  // this five-table room's bounded model, which solves at once without presolve.
  const [t1, t3, t4, t5] = [table(1, 6), table(3, 2), table(4, 2), table(5, 6)];
  const t2 = table(2, 6, { zoneId: "20000000-0000-4000-8000-000000000002", movable: false });
  const tables = [t1, t2, t3, t4, t5];
  const adjacency: [string, string][] = [[t5.id, t3.id], [t1.id, t3.id], [t4.id, t1.id]];
  const placed = [
    booking("b0", 1, [t1], 60, 60),
    booking("b1", 1, [t4], 15, 60),
    booking("b2", 7, [t3, t5], 0, 75),
  ];
  const blocks = [{ tableId: t5.id, start: T0 - 60 * MIN, end: T0 }];
  const s = snapshot(tables, placed, { partySize: 3, start: -30 }, { adjacency, maxTables: 2, blocks });
  const result = await exactly(s, undefined, 1);
  assertEquals(result.verdict, "plan", result.plan.decision === "no_fit" ? result.plan.reason : "");
  checkPlan(s, result);
  assertEquals(result.moves.length, bruteForce(s));
});

Deno.test("a block no booking explains is fixed, and a new party with nothing open is refused without loading the solver", async () => {
  const four = table(1, 4);
  const unneeded = () => Promise.reject(new Error("the solver is not needed"));
  let loads = 0;
  const solver: ExactSolver = {
    solve: unneeded,
    decide: unneeded,
    ready: () => Promise.resolve(void loads++),
  };
  const blocks = [{ tableId: four.id, start: T0, end: T0 + 120 * MIN }];
  const result = await exactly(snapshot([four], [], { partySize: 4 }, { blocks }), solver);
  assertEquals(result.verdict, "none");
  assertEquals(loads, 0, "nor loaded");
});

Deno.test("two rows of three 4-tops seat two pairs at once, not three: the instant's packings prove it without the full model", async () => {
  const tables = [1, 2, 3, 4, 5, 6].map((n) => table(n, 4));
  const [a, b, c, d, e, f] = tables;
  const adjacency: [string, string][] = [[a.id, b.id], [b.id, c.id], [d.id, e.id], [e.id, f.id]];
  const placed = [booking("six-1", 6, [a, b], 0, 90), booking("six-2", 6, [e, f], 0, 90)];
  const s = snapshot(tables, placed, { partySize: 6 }, { adjacency, maxTables: 2 });
  const problem = buildProblem(s)!;
  assertEquals(countingShortfall(problem, tables), null, "six tables for three pairs: counting sees room");
  const fullModel = () => Promise.reject(new Error("the full model is not needed"));
  const result = await exactly(s, { solve: fullModel, decide: highsSolver.decide });
  assertEquals(result.verdict, "none");
  assertEquals(bruteForce(s), null);
});

Deno.test("refuting a time alone: the instants' linear programs prove it, and a solver that fails proves nothing and is asked once", async () => {
  const tables = [...[1, 2, 3, 4, 5, 6].map((n) => table(n, 4)), table(7, 2)];
  const [a, b, c, d, e, f, g] = tables;
  const adjacency: [string, string][] = [[a.id, b.id], [b.id, c.id], [d.id, e.id], [e.id, f.id]];
  const placed = [
    booking("six-1", 6, [a, b], 0, 90),
    booking("six-2", 6, [e, f], 0, 90),
    booking("couple", 2, [g], 30, 120),
  ];
  const s = snapshot(tables, placed, { partySize: 6 }, { adjacency, maxTables: 2 });
  const problem = buildProblem(s)!;
  assertEquals(countingShortfall(problem, tables), null, "counting sees room");
  assert(stayInstants(problem).length >= 2, "more than one instant to ask about");
  assertEquals(await refuteAtTheStay(s, { timeLimitMs: 10_000 }), "refuted");
  let asked = 0;
  const failing: ExactSolver = {
    solve: () => Promise.reject(new Error("the full model is not asked")),
    decide: () => (asked++, Promise.reject(new TypeError("HiGHS failed to load"))),
  };
  assertEquals(await refuteAtTheStay(s, { timeLimitMs: 10_000, solver: failing }), "undecided");
  assertEquals(asked, 1, "nothing more is asked of a solver that failed");
});

Deno.test("a caller that has asked for a refutation already is not asked the instants again", async () => {
  const { tables, placed, adjacency } = chain();
  const s = snapshot(tables, placed, { partySize: 6 }, { adjacency, maxTables: 2 });
  let decided = 0;
  const counting: ExactSolver = {
    solve: highsSolver.solve,
    decide: (program, ms) => (decided++, highsSolver.decide(program, ms)),
  };
  assertEquals(await refuteAtTheStay(s, { timeLimitMs: 10_000, solver: counting }), "open");
  const refutation = decided;
  assert(refutation > 0, "the instants of the stay were asked");
  decided = 0;
  const full = await exactly(s, counting);
  const asked = decided;
  decided = 0;
  const skipped = await planExactly(s, {
    strategy: "scarcity_fit",
    noFitReason: NO_FIT,
    solver: counting,
    timeLimitMs: 10_000,
    refutationAsked: true,
  });
  assertEquals(decided, asked - refutation, "only the whole period's relaxation");
  assertEquals([skipped.verdict, skipped.moves, skipped.proven], [full.verdict, full.moves, full.proven]);
});

Deno.test("rows of identical tables fold into one class, and a locked booking on one row sets it apart", () => {
  const tables = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => table(n, 4));
  const rows = [tables.slice(0, 3), tables.slice(3, 6), tables.slice(6, 9)];
  const adjacency = rows.flatMap(([a, b, c]) => [[a.id, b.id], [b.id, c.id]] as [string, string][]);
  const placed = [
    booking("four", 4, [rows[0][1]], 0, 90),
    booking("six", 6, [rows[1][0], rows[1][1]], 30, 90),
  ];
  const s = snapshot(tables, placed, { partySize: 6 }, { adjacency, maxTables: 2 });
  const order = tables.map((t) => t.id);
  const classes = interchangeableParts(whole(buildProblem(s)!), order);
  assertEquals(
    classes,
    [rows.map((row) => row.map((t) => t.id))],
    "three interchangeable rows, table for table",
  );
  // Locked, the 4 fixes the middle table of the first row: that row no longer offers what the others do.
  const locked = snapshot(tables, [{ ...placed[0], locked: true }, placed[1]], { partySize: 6 }, {
    adjacency,
    maxTables: 2,
  });
  const apart = interchangeableParts(whole(buildProblem(locked)!), order);
  assertEquals(apart, [rows.slice(1).map((row) => row.map((t) => t.id))]);
});

/** The linear relaxation of the whole model, unfolded. */
function relaxation(s: Snapshot): IntegerProgram {
  const milp = toMilp(whole(buildProblem(s)!));
  return {
    columns: milp.cost.map(() => ({ upper: 1, integer: false })),
    rows: milp.rows.map((row, r) => ({
      terms: row.map((c): [number, number] => [c, 1]),
      lower: r < milp.items ? 1 : -Infinity,
      upper: 1,
    })),
  };
}

Deno.test("property: the folded relaxation has a solution exactly when the unfolded one does, and when it has none brute force finds no assignment either", async () => {
  const seen = { folded: 0, infeasible: 0 };
  await fc.assert(
    fc.asyncProperty(arbitraryRoom, async (s) => {
      const problem = buildProblem(s);
      if (!problem) return;
      const model = whole(problem);
      const order = s.tables.map((t) => t.id);
      const folded = foldedRelaxation(model, toMilp(model), order);
      const answer = await highsSolver.decide(folded, 10_000);
      assert(answer !== "undecided");
      assertEquals(answer, await highsSolver.decide(relaxation(s), 10_000), "folding keeps the answer");
      if (interchangeableParts(model, order).length > 0) seen.folded++;
      if (answer !== "infeasible") return;
      assertEquals(bruteForce(s), null, "no assignment when the relaxation has no solution");
      seen.infeasible++;
    }),
    { numRuns: 600 },
  );
  // The generator must reach rooms that fold and refusals the relaxation proves, or the property proves little.
  assert(seen.folded > 50 && seen.infeasible > 30, JSON.stringify(seen));
});

Deno.test("running out of budget is its own verdict and reason, never taken for none", async () => {
  const { tables, placed, adjacency } = chain();
  const solver: ExactSolver = {
    solve: () => Promise.resolve({ status: "budget_exhausted", why: "time" }),
    decide: () => Promise.resolve("undecided"),
  };
  const result = await planExactly(snapshot(tables, placed, { partySize: 6 }, { adjacency, maxTables: 2 }), {
    strategy: "scarcity_fit",
    noFitReason: NO_FIT,
    solver,
    timeLimitMs: 250,
  });
  assertEquals(result.verdict, "budget_exhausted");
  assert(result.plan.decision === "no_fit");
  assertEquals(
    result.plan.reason,
    "exact_search_budget_exhausted: no free table or combination seats the party; the exact search over the " +
      "2 bookings that may still move ran out of its 250 ms budget before finding the re-seating with the " +
      "fewest moves or proving there is none",
  );
});

Deno.test("loading the solver on a cold instance is not taken from the budget", async () => {
  const { tables, placed, adjacency } = chain();
  // A solver that loads once, in 300 ms, before it answers anything (as HiGHS on a new instance), and whose
  // answers settle nothing, so the search goes on to the whole period's solve.
  let loading: Promise<void> | null = null;
  const load = () => loading ??= new Promise((resolve) => setTimeout(resolve, 300));
  const given: number[] = [];
  const solver: ExactSolver = {
    ready: load,
    decide: async () => {
      await load();
      return "undecided";
    },
    solve: async (_milp, ms) => {
      await load();
      given.push(ms);
      return { status: "budget_exhausted", why: "time" };
    },
  };
  const outcome = await planExactly(snapshot(tables, placed, { partySize: 6 }, { adjacency, maxTables: 2 }), {
    strategy: "scarcity_fit",
    noFitReason: NO_FIT,
    solver,
    timeLimitMs: 1000,
  });
  assert(given.length > 0, "the whole period is solved");
  assert(
    given[0] > 800,
    `the solve is given the budget less its own questions, not the load: ${given[0]} ms`,
  );
  assert(outcome.solverLoadMs! >= 290, `and the load is reported apart: ${outcome.solverLoadMs} ms`);
});

/** HiGHS, but every answer it proves optimal is reported as found when the time ran out, unproven. */
function unprovenSolver(onSolve?: (movesAtMost: number | undefined) => void): ExactSolver {
  return {
    solve: async (milp, ms) => {
      onSolve?.(milp.movesAtMost);
      const answer = await highsSolver.solve(milp, ms);
      return answer.status === "optimal" ? { ...answer, status: "feasible" } : answer;
    },
    decide: highsSolver.decide,
  };
}

Deno.test("a re-seating found without proof of the fewest moves is committed only from the bounded solve", async () => {
  const { tables, placed, adjacency } = chain();
  // A third booking that may move, and need not, so a bound below three is asked.
  const spare = table(6, 2);
  const s = snapshot([...tables, spare], [...placed, booking("d-couple", 2, [spare], 0, 90)], {
    partySize: 6,
  }, { adjacency, maxTables: 2 });
  const solved = await exactly(s);
  assert(solved.verdict === "plan" && solved.proven);
  // The same answers, but the time runs out before any is proven to move as few bookings as any.
  const bounds: (number | undefined)[] = [];
  const unproven = unprovenSolver((bound) => bounds.push(bound));
  // Within a bound of two moves: committed, unproven, moving no more than the bound.
  const bounded = await exactly(s, unproven, 2);
  assertEquals([bounds.splice(0), bounded.verdict, bounded.proven], [[2], "plan", false]);
  assert(bounded.moves.length <= 2);
  checkPlan(s, bounded);
  // The bound cut every re-seating (one move is too few), and the unbounded solve's is not committed: in a
  // full room such first answers move nearly every booking.
  for (const fewMoves of [1, 3]) {
    const result = await exactly(s, unproven, fewMoves);
    assertEquals([result.verdict, result.moves, result.proven], ["budget_exhausted", [], false]);
    assert(result.plan.decision === "no_fit");
    assert(result.plan.reason.includes("fewest moves"), result.plan.reason);
  }
  assertEquals(bounds.splice(0), [1, undefined, undefined]);
});

Deno.test("a booking only partly in the snapshot's view keeps its tables", async () => {
  // The couple's stay reaches past the horizon, where the snapshot cannot show what else holds the 2-top.
  const [two, four] = [table(1, 2), table(2, 4)];
  const couple = booking("couple", 2, [four], 0, 400);
  const s = { ...snapshot([two, four], [couple], { partySize: 4 }), horizonMs: 60 * MIN };
  assertEquals((await exactly(s)).verdict, "none");
  assertEquals((await exactly({ ...s, horizonMs: 360 * MIN })).verdict, "plan");
});

// ---- properties -------------------------------------------------------------------------------

Deno.test("property: the exact fallback's plans obey every rule and move no locked booking; its 'none' agrees with brute force", async () => {
  const seen = { plan: 0, none: 0, moved: 0, lifted: 0 };
  let bounds: (number | undefined)[] = [];
  const spy: ExactSolver = {
    solve: (milp, ms) => (bounds.push(milp.movesAtMost), highsSolver.solve(milp, ms)),
    decide: highsSolver.decide,
  };
  await fc.assert(
    // Any bound on the first solve's moves, down to none (most often, so that it is lifted): the same answer.
    fc.asyncProperty(arbitraryRoom, fc.constantFrom(0, 0, 1, 2), async (s, fewMoves) => {
      bounds = [];
      const result = await exactly(s, spy, fewMoves);
      // A bounded solve that found nothing, then the unbounded one.
      if (bounds.some((b) => b !== undefined) && bounds.includes(undefined)) seen.lifted++;
      const fewest = bruteForce(s);
      assert(result.verdict !== "budget_exhausted", "a small room is settled within the budget");
      if (result.verdict === "none") {
        assertEquals(fewest, null, "brute force finds no assignment either");
        seen.none++;
        return;
      }
      checkPlan(s, result);
      assert(fewest !== null, "brute force finds an assignment too");
      assertEquals(result.moves.length, fewest, "no assignment moves fewer bookings");
      seen.plan++;
      if (result.moves.length > 0) seen.moved++;
    }),
    { numRuns: 1200 },
  );
  // The generator must exercise both answers and real re-seatings, or the property proves little.
  // Re-seatings come up in about 3 % of rooms (8-17 per 400 over 16 seeds), lifted bounds in 13-29 of
  // 1,200 (8 seeds): the floors stay far enough below that no seed trips them by chance.
  assert(seen.none > 60 && seen.plan > 60 && seen.moved > 10 && seen.lifted > 4, JSON.stringify(seen));
});

Deno.test("property: a re-seating committed without proof of the fewest moves obeys every rule and moves at most the bound", async () => {
  // Every answer reported as found when the time ran out: only the bounded solve's may be committed.
  const unproven = unprovenSolver();
  const seen = { plan: 0, moved: 0, none: 0, beyondBound: 0, unbounded: 0 };
  await fc.assert(
    // Mostly a bound of zero: re-seatings are rare among random rooms, and each one then lies beyond it.
    fc.asyncProperty(arbitraryRoom, fc.constantFrom(0, 0, 0, 1, 2), async (s, fewMoves) => {
      const result = await exactly(s, unproven, fewMoves);
      const fewest = bruteForce(s);
      const bounded = (buildProblem(s)?.movable.length ?? 0) > fewMoves;
      if (result.verdict === "none") {
        assertEquals(fewest, null, "brute force finds no assignment either");
        seen.none++;
        return;
      }
      assert(fewest !== null, "brute force finds an assignment");
      if (result.verdict === "plan") {
        checkPlan(s, result);
        assertEquals(result.proven, false);
        assert(bounded && result.moves.length <= fewMoves, `${result.moves.length} moves, bound ${fewMoves}`);
        assert(fewest <= result.moves.length);
        seen.plan++;
        if (result.moves.length > 0) seen.moved++;
        return;
      }
      // Undecided only when no re-seating within the bound exists, or no bound was asked.
      assert(!bounded || fewest > fewMoves, `fewest ${fewest}, bound ${fewMoves}, bounded ${bounded}`);
      if (bounded) seen.beyondBound++;
      else seen.unbounded++;
    }),
    { numRuns: 1000 },
  );
  // Floors well below what 16 seeds gave (plans 134-171, none 515-575, beyond the bound 12-27, unbounded
  // 254-319). Unproven plans that move someone come up 4-10 times: the unit test above pins that case.
  assert(
    seen.plan > 60 && seen.none > 200 && seen.beyondBound > 4 && seen.unbounded > 100,
    JSON.stringify(seen),
  );
});

Deno.test("property: looking near the stay first, plans obey every rule, move no locked booking, and move at most the bound or, when the fewest are asked for, the fewest; 'none' agrees with brute force", async () => {
  const seen = { plan: 0, none: 0, near: 0, nearMoved: 0, fewest: 0 };
  await fc.assert(
    fc.asyncProperty(
      arbitraryRoom,
      fc.constantFrom(0, 1, 2),
      fc.constantFrom<number[]>([0], [0], [0, 15 * MIN], [0, 60 * MIN]),
      // A short stay for the new party as well, so that more of the room's bookings lie beyond its reach.
      fc.constantFrom(30, 90),
      // Relaxations that answer nothing, as where the whole period's is too large to ask: the solve starts
      // from the stay alone, and looks near it once that clashes.
      fc.boolean(),
      fc.constantFrom<"fewest" | "any">("fewest", "any"),
      async (room, fewMoves, neighbourhoods, minutes, unanswered, nearPlan) => {
        const s = { ...room, windowEnd: room.windowStart + minutes * MIN };
        const solver: ExactSolver | undefined = unanswered
          ? { solve: highsSolver.solve, decide: () => Promise.resolve("undecided") }
          : undefined;
        const result = await exactly(s, solver, fewMoves, neighbourhoods, nearPlan);
        const fewest = bruteForce(s);
        assert(result.verdict !== "budget_exhausted", "a small room is settled within the budget");
        if (result.verdict === "none") {
          assertEquals(fewest, null, "brute force finds no assignment either");
          seen.none++;
          return;
        }
        checkPlan(s, result);
        assert(fewest !== null, "brute force finds an assignment too");
        // Found near the stay (within the bound, not proven), or by the whole period (the fewest, proven).
        // Asked for the fewest, a small room always has the time to prove them.
        if (nearPlan === "fewest") assert(result.proven, "proven the fewest");
        if (result.proven) {
          assertEquals(result.moves.length, fewest);
          if (nearPlan === "fewest" && fewest > 0) seen.fewest++;
        } else {
          assert(result.moves.length <= fewMoves, `${result.moves.length} moves, bound ${fewMoves}`);
          seen.near++;
          if (result.moves.length > 0) seen.nearMoved++;
        }
        seen.plan++;
      },
    ),
    { numRuns: 1600 },
  );
  // How often each path comes up, so a generator that stopped reaching one is noticed. In ten runs of 800 rooms
  // plans found near the stay and taken as they are came up 9-11 times and proven ones that move someone when
  // the fewest are asked for 4-14 times (ones found near the stay that move someone only 0-1 times: re-seatings
  // are rare in random rooms, and the unit tests above pin them). At 800 rooms the floors below failed about one
  // run in a hundred (near 2, fewest 2); 1600 rooms double the counts, which makes that about one in 100,000.
  assert(seen.none > 40 && seen.plan > 40 && seen.near > 2 && seen.fewest > 2, JSON.stringify(seen));
});

Deno.test("property: when counting proves a shortfall, brute force finds no assignment either", () => {
  let shortfalls = 0;
  fc.assert(
    fc.property(arbitraryRoom, (s) => {
      const problem = buildProblem(s);
      const shortfall = problem && countingShortfall(problem, s.tables);
      if (!shortfall) return;
      assert(shortfall.need > shortfall.have, JSON.stringify(shortfall));
      assertEquals(bruteForce(s), null, `counting found ${JSON.stringify(shortfall)}`);
      shortfalls++;
    }),
    { numRuns: 600 },
  );
  // The generator must reach shortfalls, or the property proves little.
  assert(shortfalls > 30, `${shortfalls} shortfalls`);
});

Deno.test("counting stops when its budget runs out, before each weight, each booking's needs and each instant: a full room of many table sizes is left to the solver", async () => {
  // Every table a size of its own, every one taken by a couple who could sit at any of them, and one couple
  // more: counting tables proves it, reading about 600 weights × 150 arrangements for each of 151 couples (a
  // room twice as large takes eight times as long).
  const tables = Array.from({ length: 150 }, (_, i) => table(i + 1, i + 2));
  const placed = tables.map((t, i) => booking(`pair-${i}`, 2, [t], 0, 90));
  const s = snapshot(tables, placed, { partySize: 2 });
  const problem = buildProblem(s)!;
  assertEquals(countingShortfall(problem, tables)?.need, 151, "with time, 151 couples for 150 tables");
  let asked = 0;
  assertEquals(countingShortfall(problem, tables, () => ++asked > 3), null, "out of time: nothing proven");
  assertEquals(asked, 4, "asked as it lists the weights, and stopped at the fourth ask");
  // A room of 1,100 one-table zones: their weights would take 2.4 million cells, more than counting keeps, so
  // it leaves the zones out, and still counts the room: 1,101 couples for 1,100 tables.
  const zoned = Array.from({ length: 1100 }, (_, i) => table(i + 1, 2, { zoneId: `zone-${i}` }));
  const lone = snapshot(zoned, zoned.map((t, i) => booking(`z-${i}`, 2, [t], 0, 90)), { partySize: 2 });
  asked = 0;
  const counted = countingShortfall(buildProblem(lone)!, zoned, () => (asked++, false));
  assertEquals([counted?.counted, counted?.need], ["tables", 1101]);
  // One ask a weight listed and a booking counted: with the zones' weights, 1,100 more.
  assert(asked < 1_200, `the zones' weights were not listed (${asked} asks)`);
  // Left to the solver, the booking still gets its answer: the instant's linear program refutes it.
  assertEquals((await exactly(s)).verdict, "none");
});

Deno.test("an instant with more arrangements in one part than the stack is deep is left to the full model, not an engine error", () => {
  // A banquet row of 30,000 joinable places: one part of 29,999 arrangements, each taken or not in turn.
  const pairs = Array.from({ length: 29_999 }, (_, i) => [`t${i}`, `t${i + 1}`]);
  const subject = { id: "new", windowStart: 0, windowEnd: 1, options: pairs, current: null, rules: pairs };
  assertEquals(instantProgram({ subject, movable: [] }, 0), null);
});

Deno.test("property: when the relaxation at an instant has no packing, brute force finds no assignment either", async () => {
  let infeasible = 0;
  await fc.assert(
    fc.asyncProperty(arbitraryRoom, async (s) => {
      const problem = buildProblem(s);
      if (!problem) return;
      for (const instant of stayInstants(problem)) {
        const program = instantProgram(problem, instant);
        assert(program !== null, "a small room's packings are all listed");
        if (await highsSolver.decide(program, 10_000) !== "infeasible") continue;
        assertEquals(bruteForce(s), null, `no packing at ${instant}`);
        infeasible++;
        return;
      }
    }),
    { numRuns: 600 },
  );
  // The generator must reach refusals the relaxation proves, or the property proves little.
  assert(infeasible > 30, `${infeasible} refusals proven`);
});

Deno.test("a solver that fails, HiGHS not loading among them, leaves the booking undecided, never an error", async () => {
  const { tables, placed, adjacency } = chain();
  const s = snapshot(tables, placed, { partySize: 6 }, { adjacency, maxTables: 2 });
  const asked: string[] = [];
  const failing: ExactSolver = {
    solve: () => (asked.push("solve"), Promise.reject(new Error("HiGHS failed to load"))),
    decide: () => (asked.push("decide"), Promise.reject(new TypeError("HiGHS failed to load"))),
  };
  const result = await exactly(s, failing);
  assertEquals(
    [result.verdict, result.moves, result.proven, result.solverError],
    ["budget_exhausted", [], false, "HiGHS failed to load"],
  );
  assertEquals(
    result.plan.decision === "no_fit" && result.plan.reason,
    "exact_search_budget_exhausted: no free table or combination seats the party; the exact search over the " +
      "2 bookings that may still move stopped when the solver failed before finding the re-seating with the " +
      "fewest moves or proving there is none",
  );
  assertEquals(asked, ["decide"], "nothing more is asked of a solver that failed");
});

Deno.test("over arrangements the search could not all list, the exact fallback proves nothing impossible", async () => {
  // The candidate search stops before it has looked at every group.
  const { tables, adjacency } = twoSixTopsApart();
  const s = snapshot(tables, [], { partySize: 12 }, { adjacency, maxTables: 6 });
  const result = await exactly(s);
  assertEquals([result.verdict, result.proven, result.incomplete], ["budget_exhausted", false, true]);
  assert(result.plan.decision === "no_fit");
  assert(result.plan.reason.includes("could not list every arrangement"), result.plan.reason);
  assertEquals(
    await refuteAtTheStay(s, { timeLimitMs: 10_000 }),
    "undecided",
    "nor does the refutation at the stay",
  );
});

Deno.test("a model larger than a function's memory allows is not built: the booking goes to review saying so", async () => {
  // Thirty 2-tops all joined; parties of twelve every 30 minutes for 90 minutes, each on six tables, all of
  // which may move: each has 2,000 ways to sit, so the evening's model would hold over 40,000.
  const tables = Array.from({ length: 30 }, (_, i) => table(i + 1, 2));
  const adjacency = allJoined(tables);
  const placed = Array.from(
    { length: 21 },
    (_, i) => booking(`p${i}`, 12, tables.slice((i % 5) * 6, (i % 5) * 6 + 6), i * 30, 90),
  );
  const s = snapshot(tables, placed, { partySize: 12, start: 15 }, { adjacency, maxTables: 6 });
  const result = await exactly(s);
  assertEquals([result.verdict, result.outOfMemory], ["budget_exhausted", true]);
  assert(result.plan.decision === "no_fit");
  assert(result.plan.reason.includes("was not run: its model would hold"), result.plan.reason);
});

Deno.test("where a party's arrangements are too many to list, those listed are of tables the fixed holds leave it", async () => {
  // Thirty 2-tops all joined: a party of twelve has 593,775 ways to sit, of which the search lists 2,000,
  // every one of them with tables 1 to 3 when listed over the whole room. A locked party holds tables 1 to 6.
  const tables = Array.from({ length: 30 }, (_, i) => table(i + 1, 2));
  const adjacency = allJoined(tables);
  const s = snapshot(tables, [booking("locked", 12, tables.slice(0, 6), 0, 90, true)], { partySize: 12 }, {
    adjacency,
    maxTables: 6,
  });
  const result = await exactly(s);
  assertEquals([result.verdict, result.proven], ["plan", false], "seated, though nothing is proven");
  assert(result.plan.decision === "assign");
  assert(result.plan.tableIds.every((id) => !tables.slice(0, 6).some((t) => t.id === id)), "on free tables");
});

Deno.test("the model's build stops when its budget runs out, before listing the next booking's arrangements", () => {
  const { tables, placed, adjacency } = chain();
  const s = snapshot(tables, placed, { partySize: 6 }, { adjacency, maxTables: 2 });
  // Listing again among a booking's open tables (a zone of tables that all join) costs up to a tenth of a
  // second a booking: the build asks before each one, the new booking first.
  let asked = 0;
  const budget = { outOfTime: () => ++asked > 2, stopped: false };
  assertEquals(buildProblem(s, { budget }), null);
  assertEquals([budget.stopped, asked], [true, 3], "stopped at the third ask, listing no further");
  const unbounded = { outOfTime: () => false, stopped: false };
  assertEquals(
    buildProblem(s, { budget: unbounded })?.movable.length,
    2,
    "with time, every booking is listed",
  );
  assertEquals(unbounded.stopped, false);
});

Deno.test("a build its budget stopped is never a proof: exhausted, or undecided, not none or refuted", async () => {
  // The one table that seats six is held by a locked party: with time, that is proven at once.
  const six = table(1, 6);
  const s = snapshot([six], [booking("a-six", 6, [six], 0, 90, true)], { partySize: 6 });
  assertEquals((await exactly(s)).verdict, "none", "with time, proven");
  const noTime = { strategy: "scarcity_fit", noFitReason: NO_FIT, timeLimitMs: 0 };
  const stopped = await planExactly(s, noTime);
  assertEquals([stopped.verdict, stopped.proven], ["budget_exhausted", false]);
  assertEquals(await refuteAtTheStay(s, noTime), "undecided");
  assertEquals(await refuteAtTheStay(s, { timeLimitMs: 10_000 }), "refuted", "with time, refuted");
});
