import { assertEquals } from "../testing/assert.ts";
import { planAssignment } from "../engine/planner.ts";
import { snapshotSchema } from "./snapshot.ts";

const [RESTAURANT, BOOKING, TABLE, OTHER] = [1, 2, 3, 4].map((n) =>
  `${n}`.repeat(8) + "-1111-1111-1111-111111111111"
);
const ms = (text: string) => Date.parse(text);

/** A snapshot as assignment_begin returns it, with Postgres' microsecond timestamps. */
function raw(window: [string, string], busy: [string, string]) {
  return {
    booking: {
      id: BOOKING,
      restaurant_id: RESTAURANT,
      party_size: 2,
      start_at: window[0],
      window_start: window[0],
      window_end: window[1],
    },
    max_tables: 1,
    horizon_minutes: 240,
    tables: [{
      id: TABLE,
      number: "1",
      zone_id: RESTAURANT,
      capacity: 2,
      min_party_size: 1,
      max_party_size: 2,
      movable: false,
    }],
    adjacency: [],
    busy: [{ table_id: TABLE, start: busy[0], end: busy[1] }],
    reoptimize: true,
    placed: [{
      id: OTHER,
      party_size: 2,
      window_start: busy[0],
      window_end: busy[1],
      table_ids: [TABLE],
      locked: false,
    }],
  };
}

Deno.test("sub-millisecond timestamps widen every interval outward, so a table busy in Postgres is busy here", () => {
  // The earlier booking ends half a millisecond after the new one starts: Postgres sees a clash.
  const before = snapshotSchema.parse(
    raw(["2026-12-02T19:00:00+00:00", "2026-12-02T20:30:00.000001+00:00"], [
      "2026-12-02T17:30:00.999999+00:00",
      "2026-12-02T19:00:00.0005+00:00",
    ]),
  );
  assertEquals(before.busy[0], {
    tableId: TABLE,
    start: ms("2026-12-02T17:30:00.999Z"),
    end: ms("2026-12-02T19:00:00.001Z"),
  });
  assertEquals([before.placed![0].windowStart, before.placed![0].windowEnd], [
    ms("2026-12-02T17:30:00.999Z"),
    ms("2026-12-02T19:00:00.001Z"),
  ]);
  // The new booking's own window widens too: it ends a microsecond after the next stay starts.
  assertEquals([before.windowStart, before.windowEnd], [
    ms("2026-12-02T19:00:00Z"),
    ms("2026-12-02T20:30:00.001Z"),
  ]);
  assertEquals(planAssignment(before, "optimal_fit").decision, "no_fit");
  const after = snapshotSchema.parse(
    raw(["2026-12-02T19:00:00+00:00", "2026-12-02T20:30:00.000001+00:00"], [
      "2026-12-02T20:30:00+00:00",
      "2026-12-02T22:00:00+00:00",
    ]),
  );
  assertEquals(planAssignment(after, "optimal_fit").decision, "no_fit");
  // Whole milliseconds, and trailing zeros, are kept as they are.
  const exact = snapshotSchema.parse(
    raw(["2026-12-02T19:00:00.000000+00:00", "2026-12-02T20:30:00.5000+00:00"], [
      "2026-12-02T17:30:00+00:00",
      "2026-12-02T19:00:00.000+00:00",
    ]),
  );
  assertEquals([exact.windowStart, exact.windowEnd, exact.busy[0].end], [
    ms("2026-12-02T19:00:00Z"),
    ms("2026-12-02T20:30:00.5Z"),
    ms("2026-12-02T19:00:00Z"),
  ]);
  assertEquals(planAssignment(exact, "optimal_fit").decision, "assign");
});
