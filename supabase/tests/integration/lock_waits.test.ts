// The coordinator's calls wait at most 5 s for a lock (20261224000000): a lease waiting behind a restaurant lock
// held elsewhere (an operator's bulk call, a session left open in Studio) gives up with 55P03, writes nothing,
// and the booking is leased as soon as the lock is free. Real connections play each part; the lease goes
// through the coordinator's own database port.
import { assert, assertEquals } from "../../../shared/testing/assert.ts";
import {
  connect,
  createRestaurant,
  DB_URL,
  holdRestaurantLock,
  someDay,
  withDispatchPaused,
} from "../../../shared/testing/stack.ts";
import { postgresStore } from "../../../shared/store/postgres.ts";
import { StoreError } from "../../../shared/store/port.ts";

const sql = connect(2);

Deno.test("a lease waits at most 5 s behind a restaurant lock held elsewhere, then gives up with nothing written", async () => {
  await withDispatchPaused(sql, async () => {
    const r = await createRestaurant(sql, { tables: [{ number: "W1", capacity: 4 }] });
    const booking = await r.insertBooking(2, `${someDay()}T19:00:00Z`);
    const before = await state(booking);
    const store = postgresStore(DB_URL, { max: 1 });
    const lock = await holdRestaurantLock(sql, r.id);
    try {
      const started = performance.now();
      const error = await store.begin({ bookingId: booking, trigger: "test" }).then(() => null, (e) => e);
      const waited = performance.now() - started;
      assert(error instanceof StoreError, `the lease gave up with a database error, not ${error}`);
      assertEquals(error.code, "55P03", "lock_not_available");
      assert(waited >= 4500, `it waited for the lock first (${Math.round(waited)} ms)`);
      assert(waited < 30_000, `and gave up long before a lease would run out (${Math.round(waited)} ms)`);
      assertEquals(await state(booking), before, "nothing of the booking was written");
    } finally {
      await lock.release();
    }
    try {
      const lease = await store.begin({ bookingId: booking, trigger: "test" });
      assertEquals(lease.outcome, "ready", "once the lock is free the booking is leased");
      if (lease.outcome === "ready") {
        await store.fail({
          bookingId: booking,
          leaseToken: lease.lease_token,
          kind: "conflict",
          reason: "test over",
          durationMs: 1,
          details: {},
        });
      }
    } finally {
      await store.close();
    }
  });
  await sql.end();
});

async function state(booking: string) {
  const [row] = await sql`
    select b.assignment_state, b.assignment_state_version, b.attempt_count,
           (select count(*)::int from public.booking_assignment_state_history h where h.booking_id = b.id) as history
      from public.bookings b where b.id = ${booking}`;
  return row;
}
