// An operator's words about a guest, sent as a platform sends them (supabase-js, service role, the ops
// schema), stay with the booking: its history keeps them, no observability event carries them, and they go
// when the booking is deleted.
import { assert, assertEquals } from "../../../shared/testing/assert.ts";
import {
  connect,
  createRestaurant,
  localDataApi,
  someDay,
  waitForTerminal,
} from "../../../shared/testing/stack.ts";

const sql = connect(2);
const NOTE = "Maria Garcia called, nut allergy, lives at 12 Rose Lane";

Deno.test("an operator's note about a guest never reaches observability_events, only the booking's history", async () => {
  const { platform } = await localDataApi();
  const r = await createRestaurant(sql, { tables: [{ number: "N1", capacity: 4 }] });
  const booking = await r.insertBooking(2, `${someDay()}T19:00:00Z`);
  // Cancelled once the pipeline is done with it (while it is being assigned, ops are asked to wait: AS008).
  await waitForTerminal(sql, [booking], 20_000);
  const { error } = await platform.schema("ops").rpc("cancel_booking", {
    p_booking_id: booking,
    p_reason: NOTE,
    p_actor: "ana",
  });
  if (error) throw new Error(`ops.cancel_booking: ${error.code} ${error.message}`);

  const [history] = await sql<{ reason: string }[]>`
    select reason from public.booking_assignment_state_history where booking_id = ${booking} and to_state = 'cancelled'`;
  assertEquals(history.reason, NOTE, "the booking's history keeps the note");
  const events = await sql<{ context: Record<string, unknown> }[]>`
    select context from public.observability_events where booking_id = ${booking} order by id`;
  assert(events.length > 0, "the booking has events");
  const leaked = events.filter((e) => /maria|garcia|rose lane|allerg/i.test(JSON.stringify(e.context)));
  assertEquals(leaked, [], "no event carries any of the words");
  const cancelled = events.find((e) => e.context.to === "cancelled");
  assertEquals([cancelled?.context.reason, cancelled?.context.reason_chars], ["free_text", NOTE.length]);

  await sql`delete from public.bookings where id = ${booking}`;
  const [{ left }] = await sql<{ left: number }[]>`
    select count(*)::int as left from public.booking_assignment_state_history where reason like '%Rose Lane%'
       and booking_id = ${booking}`;
  assertEquals(left, 0, "the note goes with the booking");
});

// Closed when the test process ends, not by a test of its own (one that asserts nothing would count as passed).
globalThis.addEventListener("unload", () => void sql.end());
