// The yardsticks are only as good as the MILP under them: check it against answers worked out by hand.
import { assertEquals } from "../../../shared/testing/assert.ts";
import { type PackingItem, PackingSolver } from "./packing-milp.ts";

const H = 3_600_000;
const item = (
  start: number,
  end: number,
  options: number[][],
  value: number,
  required = false,
): PackingItem => ({
  windowStart: start * H,
  windowEnd: end * H,
  options,
  values: options.map(() => value),
  required,
});

Deno.test("the clairvoyant packing drops the small party that blocks two larger ones", async () => {
  const solver = await PackingSolver.load();
  // One table. A couple 19–21 overlaps two fours, 18–20 and 20–22, which do not overlap each other.
  const items = [item(19, 21, [[0]], 2), item(18, 20, [[0]], 4), item(20, 22, [[0]], 4)];
  const solve = await solver.solve(items, { tableCount: 1, timeLimitSeconds: 10 });
  assertEquals(solve.status, "optimal");
  assertEquals(solve.objective, 8);
  assertEquals(solve.choice, [null, 0, 0]);
});

Deno.test("a combination holds every table in it, and back-to-back stays share a table", async () => {
  const solver = await PackingSolver.load();
  // Tables 0 and 1. A six on 0+1 from 19 to 21; a two on either table from 19 to 20; a two on table 0 from 21.
  const items = [item(19, 21, [[0, 1]], 6), item(19, 20, [[0], [1]], 2), item(21, 22, [[0]], 2)];
  const solve = await solver.solve(items, { tableCount: 2, timeLimitSeconds: 10 });
  assertEquals(solve.objective, 8, "the six and the later two; the first two clashes with the combination");
  assertEquals(solve.choice, [0, null, 0]);
});

Deno.test("required items make an infeasible packing infeasible, not a smaller one", async () => {
  const solver = await PackingSolver.load();
  const items = [item(19, 21, [[0]], 1, true), item(20, 22, [[0]], 1, true)];
  assertEquals((await solver.solve(items, { tableCount: 1, timeLimitSeconds: 10 })).status, "infeasible");
  const movable = [item(19, 21, [[0], [1]], 1, true), item(20, 22, [[0]], 1, true)];
  const solve = await solver.solve(movable, { tableCount: 2, timeLimitSeconds: 10 });
  assertEquals(solve.status, "optimal");
  assertEquals(solve.choice, [1, 0], "the first booking moves to the other table");
});
