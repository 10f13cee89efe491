// Keeping a restaurant's seating options never waits for another transaction (20261215020000). A failing
// attempt keeps them before it takes the restaurant lock, and a begin that escalates keeps them while holding
// it: if the second waited for the first's uncommitted row while the first waited for the lock, Postgres would
// abort one of them as a deadlock. Two real connections play both parts.
import { assert, assertEquals } from "../../../shared/testing/assert.ts";
import { connect, createRestaurant, someDay } from "../../../shared/testing/stack.ts";

const admin = connect(1);

Deno.test("a writer holding the restaurant lock does not wait for another keeping the same options", async () => {
  const r = await createRestaurant(admin, {
    tables: [{ number: "S1", capacity: 2 }, { number: "S2", capacity: 2 }, { number: "S3", capacity: 2 }],
    adjacency: [["S1", "S2"], ["S2", "S3"]],
  });
  const booking = await r.insertBooking(4, `${someDay()}T19:00:00Z`, admin);
  const failing = connect(1);
  const escalating = connect(1);
  let kept = () => {};
  const firstKept = new Promise<void>((resolve) => (kept = resolve));
  let done = () => {};
  const secondDone = new Promise<void>((resolve) => (done = resolve));
  try {
    // The failing attempt: keeps the options (its row uncommitted), then asks for the restaurant lock.
    const first = failing.begin(async (tx) => {
      await tx`select private.remember_seating_options(b) from public.bookings b where b.id = ${booking}`;
      kept();
      // Until the other has kept its own, or long enough that it must be waiting for this row.
      await Promise.race([secondDone, new Promise((resolve) => setTimeout(resolve, 1500))]);
      await tx`select private.lock_restaurant(${r.id})`;
    });
    await firstKept;
    // The escalating begin: holds the restaurant lock, keeps the same options, commits a moment later.
    const second = escalating.begin(async (tx) => {
      await tx`set local statement_timeout = '10s'`;
      await tx`select private.lock_restaurant(${r.id})`;
      await tx`select private.remember_seating_options(b) from public.bookings b where b.id = ${booking}`;
      done();
      await new Promise((resolve) => setTimeout(resolve, 300));
    });
    const outcomes = await Promise.allSettled([first, second]);
    const failures = outcomes.flatMap((o) => o.status === "rejected" ? [String(o.reason)] : []);
    assertEquals(failures, [], "neither transaction was aborted (a deadlock) or timed out");
    const [{ rows, current }] = await admin<{ rows: number; current: boolean }[]>`
      select count(*)::int as rows,
             bool_and(c.options = private.work_out_seating_options(b)) as current
        from private.seating_options_cache c, public.bookings b
       where c.restaurant_id = ${r.id} and b.id = ${booking}`;
    assertEquals(rows, 1, "the options were kept once");
    assert(current, "and are what the floor plan gives");
  } finally {
    await Promise.all([failing.end(), escalating.end(), admin.end()]);
  }
});
