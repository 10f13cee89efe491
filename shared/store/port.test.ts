import { assertEquals } from "../testing/assert.ts";
import { movesJson } from "./port.ts";

Deno.test("a move goes to the commit with the booking as the plan saw it, when the plan says", () => {
  const from = ["10000000-0000-4000-8000-000000000001"];
  const to = ["10000000-0000-4000-8000-000000000002"];
  const booking = "50000000-0000-4000-8000-000000000001";
  const seen = {
    windowStart: Date.parse("2030-01-07T19:00:00.123Z"),
    windowEnd: Date.parse("2030-01-07T20:45:00Z"),
    partySize: 3,
  };
  assertEquals(movesJson([{ bookingId: booking, fromTableIds: from, toTableIds: to, seen }]), [{
    booking_id: booking,
    from_table_ids: from,
    to_table_ids: to,
    window_start: "2030-01-07T19:00:00.123Z",
    window_end: "2030-01-07T20:45:00.000Z",
    party_size: 3,
  }]);
  assertEquals(
    movesJson([{ bookingId: booking, fromTableIds: from, toTableIds: to }]),
    [{ booking_id: booking, from_table_ids: from, to_table_ids: to }],
    "an offer's move, stored for an operator, has no view to check",
  );
});
