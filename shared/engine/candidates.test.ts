// The arrangements a party may take: all of them on floors as drawn, and a bounded search on a zone whose
// tables all join each other, where listing every way to join six would take the function's whole CPU.
import fc from "fast-check";
import { assert, assertEquals } from "../testing/assert.ts";
import type { Table } from "../domain/snapshot.ts";
import { CANDIDATE_LIMIT, connectedGroups, searchCandidates, singleTableFits } from "./candidates.ts";
import { planAssignment } from "./planner.ts";
import { allJoined, table, twoSixTopsApart } from "../testing/tables.ts";
import { snapshot } from "../testing/rooms.ts";

/** The planner's choice for a party of `party` among these tables, all free, joining six at most. */
const planIn = (tables: Table[], adjacency: [string, string][], party: number) =>
  planAssignment(
    snapshot(tables, [], { partySize: party, minutes: 120 }, { adjacency, maxTables: 6 }),
    "scarcity_fit",
  );

Deno.test("property: on any small floor the search lists exactly the arrangements the rules allow", () => {
  const floor = fc.record({
    tables: fc.array(
      fc.record({
        // Few sizes, so that groups often reach a party's seats exactly.
        capacity: fc.constantFrom(1, 2, 2, 2, 4, 6),
        zone: fc.constantFrom(0, 0, 0, 1),
        movable: fc.constantFrom(true, true, true, false),
        minParty: fc.integer({ min: 1, max: 2 }),
      }),
      { minLength: 3, maxLength: 9 },
    ),
    // For each pair of tables (in order: 1–2, 1–3, …), whether they join: about a third of them.
    joins: fc.array(fc.constantFrom(true, false, false), { minLength: 36, maxLength: 36 }),
    party: fc.integer({ min: 1, max: 12 }),
    maxTables: fc.integer({ min: 1, max: 4 }),
  });
  fc.assert(
    fc.property(floor, ({ tables: specs, joins, party, maxTables }) => {
      const tables = specs.map((t, i) =>
        table(i + 1, t.capacity, {
          zoneId: `10000000-0000-4000-8000-00000000000${t.zone}`,
          movable: t.movable,
          minPartySize: Math.min(t.minParty, t.capacity),
        })
      );
      const pairs = tables.flatMap((a, i) =>
        tables.slice(i + 1).map((b) => [a.id, b.id] as [string, string])
      );
      const adjacency = pairs.filter((_, i) => joins[i]);
      const found = searchCandidates({ partySize: party, maxTables, tables, adjacency });
      // The rules, breadth first and unbounded: single tables whose range fits, and every needed group with
      // the seats.
      const expected = [
        ...tables.filter((t) => singleTableFits(t, party)).map((t) => [t]),
        ...connectedGroups(tables, adjacency, maxTables, party)
          .filter((g) => g.reduce((n, t) => n + t.capacity, 0) >= party),
      ].map((g) => g.map((t) => t.number).sort().join("+")).sort();
      assertEquals(found.complete, true);
      assertEquals(
        found.candidates.map((c) => c.tables.map((t) => t.number).sort().join("+")).sort(),
        expected,
      );
    }),
    { numRuns: 2000 },
  );
});

Deno.test("a zone whose thirty tables all join lists a bounded number of arrangements, each one sound", () => {
  const tables = Array.from({ length: 30 }, (_, i) => table(i + 1, 2));
  const found = searchCandidates({ partySize: 12, maxTables: 6, tables, adjacency: allJoined(tables) });
  assertEquals([found.candidates.length, found.complete], [CANDIDATE_LIMIT, false]);
  assertEquals(new Set(found.candidates.map((c) => c.key)).size, CANDIDATE_LIMIT, "each once");
  for (const c of found.candidates) {
    assertEquals([c.tables.length, c.capacity], [6, 12], c.key);
  }
  const plan = planIn(tables, allJoined(tables), 12);
  assertEquals(plan.decision, "assign", "and the party is seated from them");
});

Deno.test("where the search stops before finding any, the reason says one may exist, not that none does", () => {
  const { tables, adjacency } = twoSixTopsApart();
  const found = searchCandidates({ partySize: 12, maxTables: 6, tables, adjacency });
  assertEquals([found.candidates.length, found.complete], [0, false]);
  const plan = planIn(tables, adjacency, 12);
  assert(plan.decision === "no_fit");
  assert(
    plan.reason.startsWith("no_table_fits: no free table or combination was found that seats"),
    plan.reason,
  );
  assert(plan.reason.includes("the search stopped after 20,000 combinations"), plan.reason);
});

Deno.test("a large table the joined small ones cannot reach does not make them grow: its own group is found", () => {
  // Thirty 2-tops that all join, and apart from them a 40-top with five 2-tops joined to it alone: only the
  // 40-top's six seat fifty. Counted by the zone's largest tables, every group of 2-tops could have reached
  // fifty, and their 20,000 looks ran out before the 40-top was looked at.
  const twos = Array.from({ length: 30 }, (_, i) => table(i + 1, 2));
  const big = table(31, 40);
  const beside = Array.from({ length: 5 }, (_, i) => table(32 + i, 2));
  const adjacency: [string, string][] = [
    ...allJoined(twos),
    ...beside.map((t) => [big.id, t.id] as [string, string]),
  ];
  const found = searchCandidates({
    partySize: 50,
    maxTables: 6,
    tables: [...twos, big, ...beside],
    adjacency,
  });
  assertEquals(found.candidates.map((c) => c.key), ["T31+T32+T33+T34+T35+T36"]);
  assertEquals(found.complete, true);
});

Deno.test("groups that the zone's largest tables could not bring to the party's seats are never grown", () => {
  // Six tables of forty 1-tops and a 5-top seat ten at most: none for eleven, known without looking.
  const fiveAndOnes = [...Array.from({ length: 40 }, (_, i) => table(i + 1, 1)), table(41, 5)];
  assertEquals(
    searchCandidates({ partySize: 11, maxTables: 6, tables: fiveAndOnes, adjacency: allJoined(fiveAndOnes) }),
    { candidates: [], complete: true },
  );
  const ones = Array.from({ length: 40 }, (_, i) => table(i + 1, 1));
  assertEquals(
    searchCandidates({ partySize: 7, maxTables: 6, tables: ones, adjacency: allJoined(ones) }).complete,
    true,
  );
});

Deno.test("a party one table seats is listed whole in a zone of hundreds of tables that all join", () => {
  // 210 two-tops all joined: 21,945 pairs, more than the look limit. None is needed by a couple, whom each
  // table seats alone; looking at them stopped the search for a party of two, so that a room with a free
  // table said one "may exist", and the exact fallback could prove nothing.
  const tables = Array.from({ length: 210 }, (_, i) => table(i + 1, 2));
  const found = searchCandidates({ partySize: 2, maxTables: 6, tables, adjacency: allJoined(tables) });
  assertEquals([found.candidates.length, found.complete], [210, true]);
  assert(found.candidates.every((c) => c.tables.length === 1));
  // A 6-top kept for four still starts groups for five: its pair with a 2-top is needed.
  const keptSmall = [table(1, 6, { maxPartySize: 4 }), table(2, 2)];
  assertEquals(
    searchCandidates({ partySize: 5, maxTables: 2, tables: keptSmall, adjacency: allJoined(keptSmall) })
      .candidates.map((c) => c.key),
    ["T1+T2"],
  );
});
