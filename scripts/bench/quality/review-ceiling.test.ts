import { assertEquals } from "../../../shared/testing/assert.ts";
import { MIN, T0, table } from "../../../shared/testing/tables.ts";
import type { Day, Request } from "./demand.ts";
import { Occupancy } from "./floor.ts";
import type { Layout } from "./layouts.ts";
import { ceilingProbes, ceilingVerdict } from "./review-ceiling.ts";

// A 2-top and a 4-top; a couple holds the 4-top all evening (17:00–23:00, T0 is 19:00). A party of four asks
// for 19:30: at no time within ±90 minutes is a table free for it, unless the couple moves to the 2-top.
const [two, four] = [table(1, 2), table(2, 4)];
const layout: Layout = {
  id: "ceiling-test",
  name: "ceiling test",
  tables: [two, four],
  adjacency: [],
  maxTables: 1,
  bufferAfterMinutes: 0,
  turnProfile: "casual",
  walkInOnly: new Set(),
};

function request(
  index: number,
  partySize: number,
  start: number,
  minutes: number,
  bookedAt: number,
): Request {
  return {
    id: `c0000000-0000-4000-8000-${index.toString(16).padStart(12, "0")}`,
    index,
    partySize,
    startAt: start,
    diningMinutes: minutes,
    windowStart: start,
    windowEnd: start + minutes * MIN,
    bookedAt,
    walkIn: false,
  };
}

/** The floor when the party of four asks at `askedAt`, and that request. */
function floorAt(askedAt: number) {
  const couple = request(0, 2, T0 - 120 * MIN, 360, T0 - 24 * 60 * MIN);
  const four = request(1, 4, T0 + 30 * MIN, 90, askedAt);
  const day: Day = {
    layout,
    mix: "casual",
    load: 1,
    seed: 1,
    serviceStart: T0 - 120 * MIN,
    serviceEnd: T0 + 240 * MIN,
    requests: [couple, four],
  };
  const seated = new Occupancy(day);
  seated.seat(0, [layout.tables[1].id]);
  return { day, seated, four };
}

Deno.test("the ceiling tries every open grid time within ±90 minutes, nearest first", () => {
  const { day, seated, four } = floorAt(T0 - 600 * MIN);
  const starts = ceilingProbes(day, seated, four).map((p) => (p.snapshot.startAt - four.startAt) / MIN);
  assertEquals(starts, [-15, 15, -30, 30, -45, 45, -60, 60, -75, 75, -90, 90]);
  // Asked at 18:50: the times before are past.
  const late = floorAt(T0 - 10 * MIN);
  const left = ceilingProbes(late.day, late.seated, late.four).map((p) =>
    (p.snapshot.startAt - four.startAt) / MIN
  );
  assertEquals(left, [-15, 15, -30, 30, 45, 60, 75, 90]);
});

Deno.test("a review is seatable in the ceiling when moving a booking that may still move makes room", async () => {
  const { day, seated, four } = floorAt(T0 - 600 * MIN);
  assertEquals(await ceilingVerdict(ceilingProbes(day, seated, four), "scarcity_fit", 5_000), "seatable");
});

Deno.test("a booking starting within the lock window never moves, so the ceiling finds nothing", async () => {
  // Asked at 16:45: the couple's 17:00 start is within 30 minutes, its party is on its way.
  const { day, seated, four } = floorAt(T0 - 135 * MIN);
  assertEquals(await ceilingVerdict(ceilingProbes(day, seated, four), "scarcity_fit", 5_000), "none");
});
