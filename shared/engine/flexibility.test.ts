import fc from "fast-check";
import { assert, assertEquals } from "../testing/assert.ts";
import { table } from "../testing/tables.ts";
import { connectedGroups, joinableNeighbours, smallestPartyNeedingAll } from "./candidates.ts";
import { Flexibility, GROUP_SEARCH_LIMIT } from "./flexibility.ts";

/** The loss as defined: every party size of every arrangement that shares a table with the choice, counted. */
function lossByDefinition(
  tables: ReturnType<typeof table>[],
  adjacency: [string, string][],
  maxTables: number,
  chosen: readonly string[],
  weight: (party: number) => number,
): { total: number; combinationsTaken: number } {
  const neighbours = joinableNeighbours(tables, adjacency);
  const arrangements = [
    ...tables.map((t) => ({ ids: [t.id], min: t.minPartySize, max: t.maxPartySize })),
    ...connectedGroups(tables, adjacency, maxTables, Infinity, GROUP_SEARCH_LIMIT).map((group) => {
      const seats = group.reduce((n, t) => n + t.capacity, 0);
      return {
        ids: group.map((t) => t.id),
        min: smallestPartyNeedingAll(group, seats, neighbours),
        max: seats,
      };
    }),
  ].filter((a) => a.min <= a.max);
  const alive: number[] = [];
  const removed: number[] = [];
  let combinationsTaken = 0;
  for (const a of arrangements) {
    const taken = a.ids.some((id) => chosen.includes(id));
    if (taken && a.ids.length > 1) combinationsTaken++;
    for (let p = a.min; p <= a.max; p++) {
      alive[p] = (alive[p] ?? 0) + 1;
      if (taken) removed[p] = (removed[p] ?? 0) + 1;
    }
  }
  let total = 0;
  removed.forEach((count, p) => {
    if (count) total += weight(p) * count / alive[p];
  });
  return { total, combinationsTaken };
}

Deno.test("property: the loss of a choice is the weighted share of each party size's arrangements it takes away", () => {
  let withCombinations = 0;
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 9 }).chain((count) =>
        fc.record({
          tables: fc.tuple(...Array.from({ length: count }, (_, i) =>
            fc.record({ capacity: fc.integer({ min: 1, max: 100 }), min: fc.nat(100), span: fc.nat(100) })
              .map((
                { capacity, min, span },
              ) => {
                const minPartySize = 1 + (min % capacity);
                return table(i + 1, capacity, {
                  minPartySize,
                  maxPartySize: Math.min(capacity, minPartySize + span),
                });
              }))),
          edges: fc.array(fc.tuple(fc.nat(count - 1), fc.nat(count - 1)), { maxLength: count * 2 }),
          maxTables: fc.integer({ min: 1, max: 6 }),
          chosen: fc.subarray(
            Array.from({ length: count }, (_, i) =>
              i),
            { minLength: 1 },
          ),
        })
      ),
      ({ tables, edges, maxTables, chosen }) => {
        const adjacency = edges.filter(([a, b]) => a !== b).map(([a, b]) =>
          [tables[a].id, tables[b].id] as [string, string]
        );
        const ids = chosen.map((i) => tables[i].id);
        const weight = (party: number) => 1 / party;
        const expected = lossByDefinition(tables, adjacency, maxTables, ids, weight);
        assertEquals(new Flexibility(tables, adjacency, maxTables).loss(ids, weight), expected.total);
        if (expected.combinationsTaken > 0) withCombinations++;
      },
    ),
    { numRuns: 300 },
  );
  // Choices that take combinations away too, whose party ranges overlap the tables' own.
  assert(withCombinations > 100, `only ${withCombinations} choices took a combination away`);
});
