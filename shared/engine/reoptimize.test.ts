import fc from "fast-check";
import { assert, assertEquals } from "../testing/assert.ts";
import type { PlacedBooking, Snapshot, Table } from "../domain/snapshot.ts";
import { overlaps } from "./availability.ts";
import { seatingRuleBroken } from "../testing/rules.ts";
import { planAssignment } from "./planner.ts";
import { planWithMoves } from "./reoptimize.ts";
import { MIN, T0, table } from "../testing/tables.ts";

interface Request {
  readonly partySize: number;
  readonly start?: number;
  readonly minutes?: number;
}

/** A new booking's snapshot with re-optimisation on: the placed bookings, and the tables they keep busy. */
function snapshot(
  tables: Table[],
  placed: PlacedBooking[],
  { partySize, start = 0, minutes = 90 }: Request,
  adjacency: [string, string][] = [],
): Snapshot {
  return {
    bookingId: "new",
    restaurantId: "r",
    partySize,
    startAt: T0 + start * MIN,
    timezone: "UTC",
    windowStart: T0 + start * MIN,
    windowEnd: T0 + (start + minutes) * MIN,
    maxTables: 3,
    tables,
    adjacency,
    busy: placed.flatMap((p) =>
      p.tableIds.map((tableId) => ({ tableId, start: p.windowStart, end: p.windowEnd }))
    ),
    placed,
  };
}

/** A two-top and a four-top, with a couple on the four-top from 19:00 to 20:30. */
function coupleOnTheFourTop(locked: boolean) {
  const [two, four] = [table(1, 2), table(2, 4)];
  const couple = {
    id: "a",
    partySize: 2,
    windowStart: T0,
    windowEnd: T0 + 90 * MIN,
    tableIds: [four.id],
    locked,
  };
  return { two, four, placed: [couple] };
}

Deno.test("a couple on the only four-top moves to a free two-top so a party of four fits", () => {
  const { two, four, placed } = coupleOnTheFourTop(false);
  const result = planWithMoves(snapshot([two, four], placed, { partySize: 4 }), { strategy: "scarcity_fit" });
  assertEquals(result.plan.decision, "assign");
  assert(result.plan.decision === "assign");
  assertEquals(result.plan.tableIds, [four.id]);
  assertEquals(result.moves, [{ bookingId: "a", fromTableIds: [four.id], toTableIds: [two.id] }]);
});

Deno.test("a search past its deadline gives up as at its limit of arrangements: no plan, nobody moved", () => {
  const { two, four, placed } = coupleOnTheFourTop(false);
  const s = snapshot([two, four], placed, { partySize: 4 });
  const late = planWithMoves(s, { strategy: "scarcity_fit", deadline: performance.now() - 1 });
  assertEquals([late.plan.decision, late.moves, late.explored], ["no_fit", [], 1]);
  const inTime = planWithMoves(s, { strategy: "scarcity_fit", deadline: performance.now() + 60_000 });
  assertEquals([inTime.plan.decision, inTime.moves.map((m) => m.bookingId)], ["assign", ["a"]]);
});

Deno.test("a locked booking is never moved, so the new party is refused with a reason", () => {
  const { two, four, placed } = coupleOnTheFourTop(true);
  const { plan } = planWithMoves(snapshot([two, four], placed, { partySize: 4 }), {
    strategy: "scarcity_fit",
  });
  assertEquals(plan.decision, "no_fit");
  assert(
    plan.decision === "no_fit" && plan.reason.startsWith("no_table_fits: "),
    "reason keeps its code",
  );
});

Deno.test("a booking that fits on free tables moves nobody", () => {
  const tables = [table(1, 2), table(2, 4)];
  const result = planWithMoves(snapshot(tables, [], { partySize: 2 }), { strategy: "scarcity_fit" });
  assert(result.plan.decision === "assign" && result.moves.length === 0, "no moves");
});

Deno.test("from a snapshot, a busy interval no listed booking explains is treated as fixed", () => {
  const [two, four] = [table(1, 2), table(2, 4)];
  const blocked: Snapshot = {
    ...snapshot([two, four], [], { partySize: 4 }),
    busy: [{ tableId: four.id, start: T0, end: T0 + 90 * MIN }],
  };
  assertEquals(planWithMoves(blocked, { strategy: "scarcity_fit" }).plan.decision, "no_fit");
});

// ---- properties -------------------------------------------------------------------------------

/** A random floor with a day of bookings already placed by the planner, and one more request. */
const arbitraryDay = fc.integer({ min: 2, max: 6 }).chain((count) =>
  fc.record({
    capacities: fc.array(fc.integer({ min: 2, max: 6 }), { minLength: count, maxLength: count }),
    movable: fc.array(fc.boolean(), { minLength: count, maxLength: count }),
    edges: fc.array(fc.tuple(fc.nat(count - 1), fc.nat(count - 1)), { maxLength: count * 2 }),
    bookings: fc.array(
      fc.record({
        party: fc.integer({ min: 1, max: 6 }),
        start: fc.integer({ min: -90, max: 90 }),
        minutes: fc.integer({ min: 30, max: 150 }),
        locked: fc.integer({ min: 0, max: 4 }).map((x) => x === 0),
      }),
      { maxLength: 16 },
    ),
    next: fc.record({ party: fc.integer({ min: 1, max: 8 }), start: fc.integer({ min: -30, max: 30 }) }),
    maxMoves: fc.integer({ min: 1, max: 4 }),
  }).map(({ capacities, movable, edges, bookings, next, maxMoves }) => {
    const tables = capacities.map((c, i) => table(i + 1, c, { movable: movable[i] }));
    const adjacency = edges.filter(([a, b]) => a !== b).map(([a, b]) => [tables[a].id, tables[b].id]) as [
      string,
      string,
    ][];
    const placed: PlacedBooking[] = [];
    bookings.forEach((b, i) => {
      const windowStart = T0 + b.start * MIN;
      const windowEnd = windowStart + b.minutes * MIN;
      const plan = planAssignment({
        bookingId: `b${i}`,
        restaurantId: "r",
        partySize: b.party,
        startAt: windowStart,
        timezone: "UTC",
        windowStart,
        windowEnd,
        maxTables: 3,
        tables,
        adjacency,
        busy: placed.flatMap((p) =>
          p.tableIds.map((tableId) => ({ tableId, start: p.windowStart, end: p.windowEnd }))
        ),
      }, "first_fit");
      if (plan.decision === "assign") {
        placed.push({
          id: `b${i}`,
          partySize: b.party,
          windowStart,
          windowEnd,
          tableIds: plan.tableIds,
          locked: b.locked,
        });
      }
    });
    return {
      state: snapshot(tables, placed, { partySize: next.party, start: next.start }, adjacency),
      maxMoves,
    };
  })
);

Deno.test("property: re-optimisation never breaks a rule, double-books or moves a locked booking", () => {
  let withMoves = 0;
  fc.assert(
    fc.property(arbitraryDay, ({ state, maxMoves }) => {
      const { plan, moves } = planWithMoves(state, { strategy: "scarcity_fit", maxMoves });
      if (plan.decision !== "assign") return;
      if (moves.length > 0) withMoves++;
      assert(moves.length <= maxMoves, "within the move budget");
      const final = new Map(state.placed!.map((b) => [b.id, { ...b }]));
      for (const m of moves) {
        const b = final.get(m.bookingId);
        assert(b !== undefined && !b.locked, `only unlocked bookings move (${m.bookingId})`);
        assertEquals([...m.fromTableIds], [...b!.tableIds], "a move starts where the booking is");
        assertEquals(
          seatingRuleBroken(state, b!.partySize, m.toTableIds),
          null,
          "a moved booking obeys the rules",
        );
        final.set(b!.id, { ...b!, tableIds: m.toTableIds });
      }
      assertEquals(
        seatingRuleBroken(state, state.partySize, plan.tableIds),
        null,
        "the new booking obeys the rules",
      );
      const holds = [...final.values(), { ...state, tableIds: plan.tableIds }];
      for (const [i, a] of holds.entries()) {
        for (const b of holds.slice(i + 1)) {
          const shared = a.tableIds.some((t) => b.tableIds.includes(t));
          assert(
            !(shared && overlaps(a.windowStart, a.windowEnd, b.windowStart, b.windowEnd)),
            "no double booking",
          );
        }
      }
    }),
    // About one case in thirty needs moves; enough runs to exercise them well.
    { numRuns: 1500 },
  );
  assert(
    withMoves >= 10,
    `the moves are exercised, not only the plain plan (${withMoves} of 1500 cases moved)`,
  );
});

Deno.test("property: re-optimisation is deterministic", () => {
  fc.assert(
    fc.property(arbitraryDay, ({ state, maxMoves }) => {
      const options = { strategy: "scarcity_fit", maxMoves };
      assertEquals(planWithMoves(state, options), planWithMoves(state, options));
    }),
    { numRuns: 200 },
  );
});

Deno.test("property: when the plain plan seats a booking, re-optimisation moves nobody", () => {
  fc.assert(
    fc.property(arbitraryDay, ({ state }) => {
      const result = planWithMoves(state, { strategy: "scarcity_fit" });
      const plain = planAssignment(state, "scarcity_fit");
      if (plain.decision === "assign") {
        assert(
          result.plan.decision === "assign" && result.moves.length === 0,
          "no moves when it fits as it is",
        );
      }
    }),
    { numRuns: 300 },
  );
});

Deno.test("a booking only partly in the snapshot's view is never moved by the search", () => {
  // The couple's stay reaches past the horizon, where the snapshot cannot show what else holds the 2-top.
  const [two, four] = [table(1, 2), table(2, 4)];
  const couple = {
    id: "a",
    partySize: 2,
    windowStart: T0,
    windowEnd: T0 + 400 * MIN,
    tableIds: [four.id],
    locked: false,
  };
  const s = { ...snapshot([two, four], [couple], { partySize: 4 }), horizonMs: 60 * MIN };
  const result = planWithMoves(s, { strategy: "scarcity_fit" });
  assertEquals([result.plan.decision, result.moves], ["no_fit", []]);
  // Within the view, the same couple moves.
  assertEquals(planWithMoves({ ...s, horizonMs: 360 * MIN }, { strategy: "scarcity_fit" }).moves.length, 1);
});

Deno.test("a zone of thirty movable tables all adjacent to each other is planned and searched", () => {
  // Joining up to six of them makes about 768,000 combinations, far too many to count for each ranking.
  const twos = Array.from({ length: 30 }, (_, i) => table(i + 1, 2));
  const four = table(31, 4, { movable: false });
  const adjacency = twos.flatMap((a, i) => twos.slice(i + 1).map((b): [string, string] => [a.id, b.id]));
  const s = { ...snapshot([...twos, four], [], { partySize: 4 }, adjacency), maxTables: 6 };
  const plain = planWithMoves(s, { strategy: "scarcity_fit" });
  assertEquals([plain.plan.decision, plain.moves], ["assign", []]);
  // The 2-tops are held from 19:15, the 4-top by a couple until 19:10, who moves to a 2-top free before then;
  // ranking the couple's choice counts the arrangements of all thirty.
  const held = twos.slice(1).map((t, i) => ({
    id: `held-${i}`,
    partySize: 2,
    windowStart: T0 + 15 * MIN,
    windowEnd: T0 + 90 * MIN,
    tableIds: [t.id],
    locked: true,
  }));
  const couple = {
    id: "couple",
    partySize: 2,
    windowStart: T0 - 60 * MIN,
    windowEnd: T0 + 10 * MIN,
    tableIds: [four.id],
    locked: false,
  };
  const moved = planWithMoves({
    ...snapshot([...twos, four], [...held, couple], { partySize: 4 }, adjacency),
    maxTables: 6,
  }, {
    strategy: "scarcity_fit",
  });
  assert(moved.plan.decision === "assign", "seated after a move");
  assertEquals([moved.plan.tableIds, moved.moves.map((m) => m.bookingId)], [[four.id], ["couple"]]);
});
