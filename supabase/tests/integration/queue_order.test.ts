// A restaurant's queue is served first come, first served (20261231040000): a begin that finds a slot free
// leaves it to a queued booking inserted before its own. A booking ahead whose row another transaction holds
// (a platform's or an operator's transaction left open) is passed over, or the whole restaurant would wait on
// that transaction. Real connections play each part: one holds the row, the coordinator begins as service_role.
// The rest of the rule is staged in one transaction by pgTAP (125).
import { assertEquals } from "../../../shared/testing/assert.ts";
import {
  connect,
  createRestaurant,
  holdOpen,
  someDay,
  withDispatchPaused,
} from "../../../shared/testing/stack.ts";

const sql = connect(2);
globalThis.addEventListener("unload", () => void sql.end());

/** The coordinator's begin of `id`, as its Data API client calls it. */
async function begin(id: string): Promise<string> {
  return await sql.begin(async (tx) => {
    await tx`set local role service_role`;
    const [{ r }] = await tx<{ r: { outcome: string } }[]>`
      select public.assignment_lease(p_booking_id => ${id}, p_trigger => 'drain') as r`;
    return r.outcome;
  });
}

Deno.test("a booking ahead whose row another transaction holds does not hold the restaurant's slot", () =>
  withDispatchPaused(sql, async () => {
    const r = await createRestaurant(sql, { tables: [{ number: "Q1", capacity: 4 }], maxParallel: 1 });
    const day = someDay();
    const ahead = await r.insertBooking(2, `${day}T18:00:00Z`);
    const later = await r.insertBooking(2, `${day}T19:00:00Z`);
    // Both in the queue, nothing in flight: the one inserted first asleep, the later one due on its own timer.
    const stage = async () => {
      await sql`
        update public.bookings
           set deferred_since = now() - interval '30 seconds', dispatch_count = 0,
               created_at = now() - case when id = ${ahead}::uuid then interval '2 minutes' else interval '1 minute' end,
               next_attempt_at = now() + case when id = ${ahead}::uuid then interval '1 minute' else interval '-1 second' end
         where id in ${sql([ahead, later])}`;
    };
    try {
      await stage();
      assertEquals(
        await begin(later),
        "rate_limited",
        "with the row free, the later booking leaves the slot to it",
      );
      await stage();
      const held = await holdOpen((tx) => tx`select 1 from public.bookings where id = ${ahead} for update`);
      try {
        assertEquals(
          await begin(later),
          "ready",
          "with its row held elsewhere, the later booking takes the slot",
        );
      } finally {
        await held.release();
      }
    } finally {
      // Not left in progress or queued for the health checks that run later.
      for (const id of [ahead, later]) await sql`select public.cancel_booking(${id}, 'test over', 'test')`;
    }
  }));
