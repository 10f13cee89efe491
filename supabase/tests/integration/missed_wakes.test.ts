// A freed slot wakes only the waiting bookings its transaction can see. These tests hold the transaction that
// frees a restaurant's only slot open on one connection while another connection decides to wait, the race
// that used to leave a booking asleep until the 10 s fallback with its slot free: the first booking of a
// queue now looks again by itself within a second.
import { assert, assertEquals } from "../../../shared/testing/assert.ts";
import { connect, createRestaurant, someDay, withDispatchPaused } from "../../../shared/testing/stack.ts";

const admin = connect(1);

interface Held {
  /** Resolves once the failing attempt has run, its transaction still open. */
  failed: Promise<void>;
  commit(): Promise<void>;
}

/** Ends booking `id`'s attempt with no_fit on `sql`, keeping the transaction open until commit() is called. */
function failAndHold(sql: ReturnType<typeof connect>, id: string, lease: string): Held {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let ran!: () => void;
  const failed = new Promise<void>((resolve) => (ran = resolve));
  const done = sql.begin(async (tx) => {
    await tx`select public.assignment_fail(${id}, ${lease}::uuid, 'no_fit', 'no_fit: test')`;
    ran();
    await released;
  });
  return {
    failed,
    commit: async () => {
      release();
      await done;
    },
  };
}

/**
 * A restaurant with one slot, held by its first booking (begun by the test), and with `withNext` a second
 * booking made while the restaurant still allowed two at a time, so it is not queued (it counts as dispatched
 * and about to begin until it does). Both are out of reach of the claim loops and the sweeper: only the test
 * moves them.
 */
async function restaurantWithSlotHeld(withNext: boolean) {
  const r = await createRestaurant(admin, { tables: [{ number: "H1", capacity: 4 }], maxParallel: 2 });
  const day = someDay();
  const [holder, next] = await admin.begin(async (tx) => {
    const ids = [await r.insertBooking(2, `${day}T18:00:00Z`, tx)];
    if (withNext) ids.push(await r.insertBooking(2, `${day}T20:00:00Z`, tx));
    await tx`update public.bookings set next_attempt_at = now() + interval '1 hour' where id = any(${ids}::uuid[])`;
    return ids;
  });
  await admin`update private.restaurant_pipeline_settings set max_parallel = 1 where restaurant_id = ${r.id}`;
  const [{ r: begun }] = await admin<{ r: { outcome: string; lease_token: string } }[]>`
    select public.assignment_begin(${holder}, 'test') as r`;
  assertEquals(begun.outcome, "ready", "the first booking takes the only slot");
  return { r, day, holder, next, lease: begun.lease_token };
}

Deno.test("a booking that joins the queue while the slot is being freed is due again within a second", async () => {
  const freeing = connect(1);
  try {
    await withDispatchPaused(admin, async () => {
      const { r, day, holder, lease } = await restaurantWithSlotHeld(false);
      const held = failAndHold(freeing, holder, lease);
      await held.failed; // the slot is freed, uncommitted: its wake saw no one waiting
      const waiting = await r.insertBooking(2, `${day}T21:00:00Z`, admin);
      await held.commit();
      const [b] = await admin<{ queued: boolean; wait_ms: number }[]>`
        select deferred_since is not null as queued,
               extract(epoch from next_attempt_at - created_at) * 1000 as wait_ms
          from public.bookings where id = ${waiting}`;
      assert(b.queued, "the booking found the slot taken and joined the queue");
      assert(
        b.wait_ms <= 1000,
        `it looks again by itself within a second, not after the fallback (${b.wait_ms} ms)`,
      );
    });
  } finally {
    await freeing.end();
  }
});

Deno.test("a booking a begin puts in the queue while the slot is being freed is due again within a second", async () => {
  const freeing = connect(1);
  try {
    await withDispatchPaused(admin, async () => {
      // `next` was never queued, so the failing attempt's wake has no one to wake.
      const { holder, next, lease } = await restaurantWithSlotHeld(true);
      const held = failAndHold(freeing, holder, lease);
      await held.failed;
      const [{ r: first }] = await admin<{ r: { outcome: string } }[]>`
        select public.assignment_begin(${next}, 'test') as r`;
      await held.commit();
      assertEquals(first.outcome, "rate_limited", "the begin still counts the slot as taken");
      const [b] = await admin<{ wait_ms: number }[]>`
        select extract(epoch from next_attempt_at - deferred_since) * 1000 as wait_ms
          from public.bookings where id = ${next}`;
      assert(
        b.wait_ms <= 1000,
        `it looks again by itself within a second, not after the fallback (${b.wait_ms} ms)`,
      );
      const [{ r: again }] = await admin<{ r: { outcome: string; lease_token: string } }[]>`
        select public.assignment_begin(${next}, 'test') as r`;
      assertEquals(again.outcome, "ready", "and then finds the slot free");
      await admin`select public.assignment_fail(${next}, ${again.lease_token}::uuid, 'no_fit', 'no_fit: test')`;
    });
  } finally {
    await Promise.all([freeing.end(), admin.end()]); // the file's last test
  }
});
