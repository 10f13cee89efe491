// A claim reads the queue from a floor that one claim at a time works out again (20261217000000). While a
// claim that is working it out has not committed, other claims neither wait for it nor miss what is due: they
// use the floor they read. Real connections play each part, calling as service_role.
import { assertEquals } from "../../../shared/testing/assert.ts";
import { connect, createRestaurant, someDay, withDispatchPaused } from "../../../shared/testing/stack.ts";

const sql = connect(2);

Deno.test("a claim does not wait for another claim working out the floor, and still claims what is due", async () => {
  await withDispatchPaused(sql, async () => {
    const quiet = await createRestaurant(sql, { tables: [{ number: "Q1", capacity: 4 }] });
    const busy = await createRestaurant(sql, { tables: [{ number: "B1", capacity: 4 }] });
    const due = await busy.insertBooking(2, `${someDay()}T19:00:00Z`);
    await sql`update private.claim_floor set due_floor = now(), computed_at = '-infinity'`;

    const first = connect(1);
    const second = connect(1);
    let finish = () => {};
    const finished = new Promise<void>((resolve) => (finish = resolve));
    let worked = (_: unknown) => {};
    const workedOut = new Promise((resolve) => (worked = resolve));
    try {
      // The first claim works the floor out and holds its lock and row until it commits.
      const holding = first.begin(async (tx) => {
        await tx`set local role service_role`;
        await tx`select public.assignment_claim_due(1, ${quiet.id}::uuid)`;
        worked(null);
        await finished;
      });
      await Promise.race([workedOut, holding]);
      const [{ stale }] = await sql<{ stale: boolean }[]>`
        select computed_at = '-infinity' as stale from private.claim_floor`;
      assertEquals(stale, true, "the first claim's floor is not committed yet");

      const claimed = await second.begin(async (tx) => {
        await tx`set local lock_timeout = '300ms'`;
        // Due a minute ago and created an hour ago: no new booking, due below the floor. Made due in the claim's
        // own transaction, so that the sweeper, which dispatches what is due every few seconds, cannot take it
        // first (it skips a locked row).
        await tx`
          update public.bookings set next_attempt_at = now() - interval '1 minute', created_at = now() - interval '1 hour'
           where id = ${due}`;
        await tx`set local role service_role`;
        const [{ ids }] = await tx<{ ids: string[] }[]>`
          select public.assignment_claim_due(5, ${busy.id}::uuid) as ids`;
        return ids;
      }).then((ids) => ({ ids, code: "" }), (error) => ({ ids: [], code: String(error.code) }));
      assertEquals(
        claimed,
        { ids: [due], code: "" },
        "the second claim did not wait, and found the booking due below the floor it read",
      );

      finish();
      await holding;
      const [{ fresh }] = await sql<{ fresh: boolean }[]>`
        select computed_at > now() - interval '1 minute' as fresh from private.claim_floor`;
      assertEquals(fresh, true, "the first claim's floor is there once it commits");
    } finally {
      finish();
      await first.end();
      await second.end();
    }
  });
  await sql.end();
});
