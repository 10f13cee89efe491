// What shadow mode records, and what its A/A experiment can and cannot tell. A/A plans with the legacy
// planner twice on the very snapshot the primary used (V3 is compared on that same snapshot too, so
// changes between snapshots never show up in either comparison): it measures the comparison's own noise,
// i.e. planner nondeterminism (tables or decision differing on identical input) and the timing spread
// between two identical runs.
import fc from "fast-check";
import { assertEquals } from "../testing/assert.ts";
import type { Snapshot, Table } from "../domain/snapshot.ts";
import { planAssignment } from "../engine/planner.ts";
import { compareWithCandidate } from "./shadow.ts";
import { T0, table } from "../testing/tables.ts";

function snapshot(partySize: number, tables: Table[], adjacency: [string, string][] = []): Snapshot {
  return {
    bookingId: "20000000-0000-4000-8000-000000000001",
    restaurantId: "30000000-0000-4000-8000-000000000001",
    partySize,
    startAt: T0,
    timezone: "UTC",
    windowStart: T0,
    windowEnd: T0 + 105 * 60_000,
    maxTables: 3,
    tables,
    adjacency,
    busy: [],
  };
}

/** A clock that reads the given times in turn. */
const clock = (...times: number[]) => () => times.shift()!;

Deno.test("the candidate is timed around its own plan; the primary's time is the caller's measurement", () => {
  const s = snapshot(4, [table(1, 6), table(2, 4)]);
  const primary = planAssignment(s, "first_fit");
  const c = compareWithCandidate(s, primary, 1.23456, "optimal_fit", "v3", clock(100, 100.75));
  assertEquals([c.primary_ms, c.candidate_ms], [1.235, 0.75]);
  assertEquals([c.primary_tables, c.candidate_tables], [[table(1, 6).id], [table(2, 4).id]]);
  assertEquals(c.score_diff, -2, "V3 wastes two seats fewer");
});

Deno.test("a candidate that throws is recorded as an error and the primary's decision stands", () => {
  const s = snapshot(2, [table(1, 2)]);
  const primary = planAssignment(s, "first_fit");
  const c = compareWithCandidate(s, primary, 0.5, "no_such_strategy", "v3", clock(0, 2));
  assertEquals([c.primary_decision, c.candidate_decision, c.candidate_ms], ["assign", "error", 2]);
  assertEquals(
    c.candidate_error?.startsWith('unknown strategy "no_such_strategy"'),
    true,
    c.candidate_error ?? "",
  );
});

/** A small floor of a row of tables, some of them joined to the next, and a party to seat on it. */
const smallFloor = fc.record({
  capacities: fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 1, maxLength: 8 }),
  joins: fc.array(fc.integer({ min: 0, max: 6 }), { maxLength: 6 }),
  party: fc.integer({ min: 1, max: 16 }),
}).map(({ capacities, joins, party }) => {
  const tables = capacities.map((c, i) => table(i + 1, c));
  const adjacency = joins.filter((j) => j + 1 < tables.length)
    .map((j) => [tables[j].id, tables[j + 1].id] as [string, string]);
  return snapshot(party, tables, adjacency);
});

Deno.test("A/A: legacy planned twice on one snapshot agrees on decision and tables, whatever the floor", () => {
  fc.assert(
    fc.property(smallFloor, (s) => {
      const primary = planAssignment(s, "first_fit");
      const c = compareWithCandidate(s, primary, 0, "first_fit", "aa", clock(0, 0));
      assertEquals(c.candidate_decision, c.primary_decision);
      assertEquals(c.candidate_tables, c.primary_tables);
    }),
    { numRuns: 300 },
  );
});

Deno.test("V3 is compared as it would run: where the restaurant lets it re-seat others, it seats what legacy escalates", () => {
  // A two-top and a four-top; a couple the pipeline placed on the four-top; a party of four for that time.
  const [two, four] = [table(1, 2), table(2, 4)];
  const couple = {
    id: "a",
    partySize: 2,
    windowStart: T0,
    windowEnd: T0 + 105 * 60_000,
    tableIds: [four.id],
  };
  const s: Snapshot = {
    ...snapshot(4, [two, four]),
    busy: [{ tableId: four.id, start: couple.windowStart, end: couple.windowEnd }],
    placed: [{ ...couple, locked: false }],
  };
  const primary = planAssignment(s, "first_fit");
  assertEquals(primary.decision, "no_fit");
  const v3 = compareWithCandidate(s, primary, 0, "scarcity_fit", "v3", clock(0, 0), { maxMoves: 5 });
  assertEquals([v3.primary_decision, v3.candidate_decision, v3.candidate_tables], ["escalate", "assign", [
    four.id,
  ]]);
  const aa = compareWithCandidate(s, primary, 0, "first_fit", "aa", clock(0, 0));
  assertEquals(aa.candidate_decision, "escalate", "legacy, the A/A candidate, moves nobody");
  const staff = compareWithCandidate(
    { ...s, placed: [{ ...couple, locked: true }] },
    primary,
    0,
    "scarcity_fit",
    "v3",
    clock(0, 0),
    { maxMoves: 5 },
  );
  assertEquals(staff.candidate_decision, "escalate", "nor does V3 move a booking it may not");
});

Deno.test("without re-seating, legacy and V3 seat exactly the same bookings: only the tables differ", () => {
  fc.assert(
    fc.property(smallFloor, (s) => {
      const primary = planAssignment(s, "first_fit");
      for (const strategy of ["scarcity_fit", "optimal_fit"]) {
        const c = compareWithCandidate(s, primary, 0, strategy, "v3", clock(0, 0), { maxMoves: 5 });
        assertEquals(c.candidate_decision, c.primary_decision, strategy);
      }
    }),
    { numRuns: 300 },
  );
});
