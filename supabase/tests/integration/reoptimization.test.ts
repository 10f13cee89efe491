// Re-optimisation end to end: where ops turned it on, a booking that fits nowhere as the room stands is
// confirmed by moving a not-yet-seated booking to another table first, in the same commit; where it is off
// (the default), the same booking goes to manual review. Needs `scripts/stack start`.
import { assert, assertEquals } from "../../../shared/testing/assert.ts";
import {
  activeTables as tablesHeld,
  connect,
  createRestaurant,
  holdOpen,
  someDay,
  waitForTerminal,
  withDispatchPaused,
} from "../../../shared/testing/stack.ts";

const sql = connect(4);

const activeTables = (bookingId: string) => tablesHeld(sql, bookingId);

/**
 * A two-top and a four-top. A couple lands on the four-top because the two-top is taken; then the two-top
 * frees up (a cancellation) and a party of four asks for the same time.
 */
async function crowdedEvening(reoptimize: boolean) {
  const r = await createRestaurant(sql, {
    tables: [{ number: "T1", capacity: 2 }, { number: "T2", capacity: 4 }],
  });
  if (reoptimize) await sql`select ops.set_reoptimization(true, 'test', ${r.id}::uuid, 'benchmark winner')`;
  const day = someDay();
  const early = await r.insertBooking(2, `${day}T18:30:00Z`);
  assertEquals([...(await waitForTerminal(sql, [early])).values()], ["confirmed"]);
  const couple = await r.insertBooking(2, `${day}T19:00:00Z`);
  assertEquals([...(await waitForTerminal(sql, [couple])).values()], ["confirmed"]);
  assertEquals(await activeTables(couple), ["T2"], "the couple had to take the four-top");
  await sql`select ops.cancel_booking(${early}::uuid, 'guest cancelled', 'test')`;
  const four = await r.insertBooking(4, `${day}T19:00:00Z`);
  const [state] = (await waitForTerminal(sql, [four])).values();
  return { r, couple, four, state };
}

Deno.test("with re-optimisation on, a not-yet-seated couple moves so a party of four is confirmed", async () => {
  const { r, couple, four, state } = await crowdedEvening(true);
  assertEquals(state, "confirmed");
  assertEquals(await activeTables(four), ["T2"]);
  assertEquals(await activeTables(couple), ["T1"], "the couple was moved to the two-top");
  const [moved] = await sql<{ n: number; for_booking: string }[]>`
    select count(*)::int as n, min(context ->> 'for_booking') as for_booking from public.observability_events
     where booking_id = ${couple} and event_type = 'coordinator.booking_moved'`;
  assertEquals(moved.n, 1, "one move event for the moved booking");
  assertEquals(moved.for_booking, four);
  const [confirmed] = await sql<{ moved: number }[]>`
    select (context ->> 'moved_bookings')::int as moved from public.observability_events
     where booking_id = ${four} and event_type = 'coordinator.confirmed'`;
  assertEquals(confirmed.moved, 1);
  const [{ overlaps }] = await sql<{ overlaps: number }[]>`
    select count(*)::int as overlaps from public.booking_table_assignments a
      join public.booking_table_assignments b on a.table_id = b.table_id and a.id < b.id and a.during && b.during
     where a.restaurant_id = ${r.id} and a.released_at is null and b.released_at is null`;
  assertEquals(overlaps, 0);
  const [{ released }] = await sql<{ released: number }[]>`
    select count(*)::int as released from public.booking_table_assignments
     where booking_id = ${couple} and released_at is not null`;
  assert(released === 1, "the couple's old table stays as history, released");
});

Deno.test("with re-optimisation off (the default), the same party of four goes to manual review", async () => {
  const { couple, four, state } = await crowdedEvening(false);
  assertEquals(state, "manual_review");
  assertEquals(await activeTables(couple), ["T2"], "nobody was moved");
  const [{ reason }] = await sql<{ reason: string }[]>`
    select manual_review_reason as reason from public.bookings where id = ${four}`;
  assert(reason.startsWith("no_table_fits: "), reason);
});

// Closed when the test process ends, not by a test of its own (one that asserts nothing would count as passed).
globalThis.addEventListener("unload", () => void sql.end());

Deno.test("a commit whose plan moves a booking another transaction is changing re-plans at once, and deadlocks nobody", async () => {
  // The platform updates several bookings of the restaurant in one statement: it holds the couple's row and would
  // wait for the four's, which the commit holds. The commit must not wait for the couple's row in turn.
  const r = await createRestaurant(sql, {
    tables: [{ number: "T1", capacity: 2 }, { number: "T2", capacity: 4 }],
  });
  await sql`select ops.set_reoptimization(true, 'test', ${r.id}::uuid, 'pool the evening')`;
  const day = someDay();
  const [t1, t2] = [r.tableIds.get("T1")!, r.tableIds.get("T2")!];
  await withDispatchPaused(sql, async () => {
    const lease = async (booking: string) => {
      const [{ answer }] = await sql<{ answer: { lease_token: string } }[]>`
        select public.assignment_lease(p_booking_id => ${booking}, p_trigger => 'test') as answer`;
      return answer.lease_token;
    };
    const commit = async (booking: string, token: string, tables: string[], moves: unknown[] = []) => {
      const [{ answer }] = await sql<{ answer: { outcome: string; reason?: string } }[]>`
        select public.assignment_commit(p_booking_id => ${booking}, p_lease_token => ${token},
          p_table_ids => ${tables}::uuid[], p_strategy => 'scarcity_fit',
          p_moves => ${JSON.stringify(moves)}::text::jsonb) as answer`;
      return answer;
    };
    const couple = await r.insertBooking(2, `${day}T19:00:00Z`);
    assertEquals(
      (await commit(couple, await lease(couple), [t2])).outcome,
      "confirmed",
      "the couple on the four-top",
    );
    const four = await r.insertBooking(4, `${day}T19:00:00Z`);
    const token = await lease(four);
    const moveCouple = [{ booking_id: couple, from_table_ids: [t2], to_table_ids: [t1] }];

    // As the platform writes, through the Data API's role.
    const platform = await holdOpen(async (tx) => {
      await tx`set local role service_role`;
      await tx`update public.bookings set notes = 'window seat, please' where id = ${couple}`;
    });
    try {
      const started = performance.now();
      const answer = await commit(four, token, [t2], moveCouple);
      const waited = performance.now() - started;
      assertEquals(answer.outcome, "conflict");
      assertEquals(answer.reason, "a booking to move is being changed by another transaction");
      assert(waited < 1000, `the commit did not wait on the couple's row (${Math.round(waited)} ms)`);
    } finally {
      await platform.release();
    }
    assertEquals(await activeTables(couple), ["T2"], "nobody moved");

    // A row written about the couple in a transaction still open (an event, say) only key-shares its row: no
    // change of the couple's, so the move goes ahead. (The lease outlived the conflict: the attempt re-plans.)
    const writer = await holdOpen((tx) =>
      tx`insert into public.observability_events (source, event_type, severity, context, restaurant_id, booking_id)
         values ('test', 'test.note', 'info', '{}', ${r.id}, ${couple})`
    );
    try {
      assertEquals((await commit(four, token, [t2], moveCouple)).outcome, "confirmed");
    } finally {
      await writer.release();
    }
    assertEquals(await activeTables(couple), ["T1"], "the couple moved to the two-top");
  });
});
