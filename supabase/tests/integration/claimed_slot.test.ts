// A booking handed out from the queue holds its slot until it is begun (20261218010000), across real
// transactions: the claim commits on one connection (as service_role, as the coordinator's client calls it),
// the platform inserts through the Data API on another, and the begin comes last, as it does in a rush. The
// pgTAP test stages the same in one transaction, where the claim and the insert share one now().
import { assertEquals } from "../../../shared/testing/assert.ts";
import { connect, createRestaurant, someDay, withDispatchPaused } from "../../../shared/testing/stack.ts";

const sql = connect(2);

Deno.test("a new booking made between a queued booking's claim and its begin waits behind it", () =>
  withDispatchPaused(sql, async () => {
    const r = await createRestaurant(sql, { tables: [{ number: "C1", capacity: 4 }], maxParallel: 1 });
    const day = someDay();
    const queued = await r.insertBooking(2, `${day}T18:00:00Z`);

    const coordinator = connect(1);
    try {
      const claimed = await coordinator.begin(async (tx) => {
        // Woken from the queue a moment ago, nothing in flight: the next claim takes it. Made due in the claim's
        // own transaction, so that the sweeper, which pushes what is due back by its backoff every few seconds
        // even with dispatch paused, cannot take it first (it skips a locked row).
        await tx`
          update public.bookings
             set deferred_since = now() - interval '5 seconds', next_attempt_at = now() - interval '1 second',
                 created_at = now() - interval '1 hour', dispatch_count = 0
           where id = ${queued}`;
        await tx`set local role service_role`;
        const [{ ids }] = await tx<{ ids: string[] }[]>`
          select public.assignment_claim_due(5, ${r.id}::uuid) as ids`;
        return ids;
      });
      assertEquals(claimed, [queued], "the woken booking is claimed, in a transaction of its own");

      // Through the Data API as service_role, as a platform inserts it.
      const latecomerId = await r.insertBooking(2, `${day}T19:00:00Z`);
      const [latecomer] = await sql<{ deferred: boolean }[]>`
        select deferred_since is not null as deferred from public.bookings where id = ${latecomerId}`;
      assertEquals(latecomer.deferred, true, "the new booking joins the queue instead of taking the slot");

      const began = await coordinator.begin(async (tx) => {
        await tx`set local role service_role`;
        const [{ r: lease }] = await tx<{ r: { outcome: string } }[]>`
          select public.assignment_lease(p_booking_id => ${queued}, p_trigger => 'drain') as r`;
        return lease.outcome;
      });
      assertEquals(began, "ready", "the claimed booking begins in the slot it held");
    } finally {
      await coordinator.end();
    }
  }));

// Closed when the test process ends, not by a test of its own (one that asserts nothing would count as passed).
globalThis.addEventListener("unload", () => void sql.end());
