// Small random rooms for the engine's property tests, and checks written from the rules, not the engine: the
// fewest moves that seat a party by brute force, and whether a plan with its moves breaks any rule.
import fc from "fast-check";
import { assert, assertEquals } from "./assert.ts";
import type { BusyInterval, PlacedBooking, Snapshot, Table } from "../domain/snapshot.ts";
import type { Move } from "../domain/move.ts";
import type { Plan } from "../engine/planner.ts";
import { overlaps } from "../engine/availability.ts";
import { seatingRuleBroken } from "./rules.ts";
import { MIN, T0, table } from "./tables.ts";

export function snapshot(
  tables: Table[],
  placed: PlacedBooking[],
  next: { partySize: number; start?: number; minutes?: number },
  extra: { adjacency?: [string, string][]; blocks?: BusyInterval[]; maxTables?: number } = {},
): Snapshot {
  const windowStart = T0 + (next.start ?? 0) * MIN;
  return {
    bookingId: "new",
    restaurantId: "r",
    partySize: next.partySize,
    startAt: windowStart,
    timezone: "UTC",
    windowStart,
    windowEnd: windowStart + (next.minutes ?? 90) * MIN,
    maxTables: extra.maxTables ?? 3,
    tables,
    adjacency: extra.adjacency ?? [],
    busy: [
      ...placed.flatMap((p) =>
        p.tableIds.map((tableId) => ({ tableId, start: p.windowStart, end: p.windowEnd }))
      ),
      ...(extra.blocks ?? []),
    ],
    placed,
  };
}

export const booking = (
  id: string,
  partySize: number,
  tables: Table[],
  start: number,
  minutes: number,
  locked = false,
) => ({
  id,
  partySize,
  windowStart: T0 + start * MIN,
  windowEnd: T0 + (start + minutes) * MIN,
  tableIds: tables.map((t) => t.id),
  locked,
});

/** Every set of tables the rules allow for a party, found by trying every subset (independent of the engine). */
export function allowed(s: Snapshot, partySize: number): string[][] {
  const found: string[][] = [];
  const ids = s.tables.map((t) => t.id);
  for (let mask = 1; mask < 1 << ids.length; mask++) {
    const subset = ids.filter((_, i) => mask & (1 << i));
    if (subset.length <= s.maxTables && seatingRuleBroken(s, partySize, subset) === null) found.push(subset);
  }
  return found;
}

/** The fewest moves that seat the new booking by brute force over every assignment, or null when none does. */
export function bruteForce(s: Snapshot): number | null {
  const placed = s.placed ?? [];
  const fixed = [
    ...placed.filter((p) => p.locked),
    ...s.busy.filter((b) =>
      !placed.some((p) =>
        p.tableIds.includes(b.tableId) && overlaps(p.windowStart, p.windowEnd, b.start, b.end)
      )
    )
      .map((b) => ({ windowStart: b.start, windowEnd: b.end, tableIds: [b.tableId] })),
  ];
  const items = [
    {
      windowStart: s.windowStart,
      windowEnd: s.windowEnd,
      partySize: s.partySize,
      current: null as string | null,
    },
    ...placed.filter((p) => !p.locked).map((p) => ({ ...p, current: [...p.tableIds].sort().join() })),
  ];
  const clash = (a: { windowStart: number; windowEnd: number; tableIds: readonly string[] }, b: typeof a) =>
    overlaps(a.windowStart, a.windowEnd, b.windowStart, b.windowEnd) &&
    a.tableIds.some((t) => b.tableIds.includes(t));
  const options = items.map((item) => {
    const rule = allowed(s, item.partySize);
    // Staying put is always possible for a placed booking.
    if (item.current !== null && !rule.some((o) => [...o].sort().join() === item.current)) {
      rule.push(item.current.split(","));
    }
    return rule.filter((tableIds) => fixed.every((f) => !clash({ ...item, tableIds }, f)));
  });
  let best: number | null = null;
  const chosen: { windowStart: number; windowEnd: number; tableIds: readonly string[] }[] = [];
  const visit = (i: number, moves: number) => {
    if (best !== null && moves >= best) return;
    if (i === items.length) {
      best = moves;
      return;
    }
    for (const tableIds of options[i]) {
      const hold = { ...items[i], tableIds };
      if (chosen.some((c) => clash(c, hold))) continue;
      chosen.push(hold);
      const moved = items[i].current !== null && [...tableIds].sort().join() !== items[i].current ? 1 : 0;
      visit(i + 1, moves + moved);
      chosen.pop();
    }
  };
  visit(0, 0);
  return best;
}

/** A small room (≤ 6 tables) with up to 6 bookings placed on valid tables, some locked, maybe a block. */
export const arbitraryRoom = fc.integer({ min: 1, max: 6 }).chain((count) =>
  fc.record({
    capacities: fc.array(fc.constantFrom(2, 2, 4, 4, 6), { minLength: count, maxLength: count }),
    movable: fc.array(fc.integer({ min: 0, max: 4 }).map((x) => x > 0), {
      minLength: count,
      maxLength: count,
    }),
    zones: fc.array(fc.integer({ min: 0, max: 3 }).map((x) => x === 0), {
      minLength: count,
      maxLength: count,
    }),
    edges: fc.array(fc.tuple(fc.nat(count - 1), fc.nat(count - 1)), { maxLength: count * 2 }),
    maxTables: fc.integer({ min: 1, max: 3 }),
    bookings: fc.array(
      fc.record({
        party: fc.integer({ min: 1, max: 8 }),
        start: fc.integer({ min: -6, max: 6 }).map((x) => x * 15),
        minutes: fc.integer({ min: 4, max: 8 }).map((x) => x * 15),
        locked: fc.integer({ min: 0, max: 3 }).map((x) => x === 0),
        pick: fc.nat(),
      }),
      { maxLength: 6 },
    ),
    block: fc.option(fc.record({ table: fc.nat(count - 1), start: fc.integer({ min: -4, max: 4 }) }), {
      freq: 4,
    }),
    next: fc.record({
      party: fc.integer({ min: 1, max: 8 }),
      start: fc.integer({ min: -2, max: 2 }).map((x) => x * 15),
    }),
  }).map(({ capacities, movable, zones, edges, maxTables, bookings, block, next }) => {
    const tables = capacities.map((c, i) =>
      table(i + 1, c, {
        movable: movable[i],
        zoneId: zones[i] ? "20000000-0000-4000-8000-000000000002" : undefined,
      })
    ).map((t) => (t.zoneId ? t : { ...t, zoneId: "10000000-0000-4000-8000-000000000001" }));
    const adjacency = edges.filter(([a, b]) => a !== b).map(([a, b]) => [tables[a].id, tables[b].id]) as [
      string,
      string,
    ][];
    const blocks = block
      ? [{
        tableId: tables[block.table].id,
        start: T0 + block.start * 30 * MIN,
        end: T0 + (block.start * 30 + 60) * MIN,
      }]
      : [];
    const room = snapshot(tables, [], { partySize: 1 }, { adjacency, maxTables, blocks });
    const placed: PlacedBooking[] = [];
    bookings.forEach((b, i) => {
      const candidate = booking(`b${i}`, b.party, [], b.start, b.minutes, b.locked);
      const holds = [
        ...placed,
        ...blocks.map((x) => ({ windowStart: x.start, windowEnd: x.end, tableIds: [x.tableId] })),
      ];
      const free = allowed(room, b.party).filter((ids) =>
        holds.every((h) =>
          !overlaps(h.windowStart, h.windowEnd, candidate.windowStart, candidate.windowEnd) ||
          !h.tableIds.some((t) => ids.includes(t))
        )
      );
      if (free.length > 0) placed.push({ ...candidate, tableIds: free[b.pick % free.length] });
    });
    return snapshot(tables, placed, { partySize: next.party, start: next.start }, {
      adjacency,
      maxTables,
      blocks,
    });
  })
);

/** Asserts a plan and its moves keep every rule and double-book nothing. */
export function checkPlan(s: Snapshot, result: { plan: Plan; moves: readonly Move[] }) {
  assert(result.plan.decision === "assign");
  assertEquals(
    seatingRuleBroken(s, s.partySize, result.plan.tableIds),
    null,
    "the new booking obeys the rules",
  );
  const final = new Map(s.placed!.map((b) => [b.id, { ...b }]));
  for (const m of result.moves) {
    const b = final.get(m.bookingId);
    assert(b !== undefined && !b.locked, `only bookings that may move are moved (${m.bookingId})`);
    assertEquals([...m.fromTableIds].sort(), [...b!.tableIds].sort(), "a move starts where the booking is");
    assertEquals(seatingRuleBroken(s, b!.partySize, m.toTableIds), null, "a moved booking obeys the rules");
    final.set(b!.id, { ...b!, tableIds: m.toTableIds });
  }
  const unexplained = s.busy.filter((b) =>
    !s.placed!.some((p) =>
      p.tableIds.includes(b.tableId) && overlaps(p.windowStart, p.windowEnd, b.start, b.end)
    )
  ).map((b) => ({ windowStart: b.start, windowEnd: b.end, tableIds: [b.tableId] }));
  const holds = [...final.values(), ...unexplained, { ...s, tableIds: result.plan.tableIds }];
  for (const [i, a] of holds.entries()) {
    for (const b of holds.slice(i + 1)) {
      const shared = a.tableIds.some((t) => b.tableIds.includes(t));
      assert(
        !(shared && overlaps(a.windowStart, a.windowEnd, b.windowStart, b.windowEnd)),
        "no double booking",
      );
    }
  }
}
