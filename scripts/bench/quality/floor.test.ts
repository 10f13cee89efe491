// The replay's own check of each seating at the moment it is made: a breach a later move repaired must still
// count, which the final seating's check (safety.ts) cannot see.
import { assertEquals } from "../../../shared/testing/assert.ts";
import { MIN, T0, table } from "../../../shared/testing/tables.ts";
import type { Day, Request } from "./demand.ts";
import { Occupancy } from "./floor.ts";
import type { Layout } from "./layouts.ts";
import { violations } from "./safety.ts";

const [two, four, other] = [table(1, 2), table(2, 4), table(3, 4)];
const layout: Layout = {
  id: "step-test",
  name: "step test",
  tables: [two, four, other],
  adjacency: [],
  maxTables: 1,
  bufferAfterMinutes: 0,
  turnProfile: "casual",
  walkInOnly: new Set(),
};

function request(index: number, partySize: number): Request {
  return {
    id: `d0000000-0000-4000-8000-${index.toString(16).padStart(12, "0")}`,
    index,
    partySize,
    startAt: T0,
    diningMinutes: 90,
    windowStart: T0,
    windowEnd: T0 + 90 * MIN,
    bookedAt: T0 - 24 * 60 * MIN,
    walkIn: false,
  };
}

const day: Day = {
  layout,
  mix: "casual",
  load: 1,
  seed: 1,
  serviceStart: T0 - 120 * MIN,
  serviceEnd: T0 + 240 * MIN,
  requests: [request(0, 2), request(1, 2), request(2, 3)],
};

Deno.test("a seating that double-holds a table counts, though a later move repaired it", () => {
  const seated = new Occupancy(day);
  seated.seatChecked(0, [four.id]);
  seated.seatChecked(1, [four.id]); // the same table at the same time
  // A later step moves the first couple away: the final seating is clean.
  seated.seatWithMoves(day.requests[2], [other.id], [{
    bookingId: day.requests[0].id,
    fromTableIds: [four.id],
    toTableIds: [two.id],
  }]);
  assertEquals(violations(day, seated.result()), [], "the final seating shows nothing");
  assertEquals(seated.stepViolations, ["request 1 when seated: a table already held then"]);
});

Deno.test("a seating that breaks a rule counts when it is made", () => {
  const seated = new Occupancy(day);
  seated.seatChecked(2, [two.id]); // three at a table for two
  assertEquals(seated.stepViolations.length, 1);
  assertEquals(
    seated.stepViolations[0].startsWith("request 2 when seated: "),
    true,
    seated.stepViolations[0],
  );
});
