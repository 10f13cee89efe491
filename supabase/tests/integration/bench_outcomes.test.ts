// The pipeline benchmark's safety figures can fail: a seating fault is counted when a confirmed booking's tables
// no longer hold its stay, though no constraint refuses that. Needs `scripts/stack start`.
import { assertEquals } from "../../../shared/testing/assert.ts";
import { connect, createRestaurant, someDay, waitForTerminal } from "../../../shared/testing/stack.ts";
import { outcomes } from "../../../scripts/bench/pipeline/drive.ts";

const sql = connect(2);

Deno.test("the benchmark counts a confirmed booking whose tables no longer hold its stay as a seating fault", async () => {
  const r = await createRestaurant(sql, { tables: [{ number: "B1", capacity: 4 }] });
  const booking = await r.insertBooking(2, `${someDay()}T19:00:00Z`);
  assertEquals([...(await waitForTerminal(sql, [booking])).values()], ["confirmed"]);
  const before = await outcomes(sql, [booking]);
  assertEquals([before.double_bookings, before.seating_faults], [0, 0], "seated as it should be");
  // Its hold cut short, as a faulty commit could leave it: the constraint on holds has nothing to refuse.
  await sql`update public.booking_table_assignments set during = tstzrange(lower(during), lower(during) + interval '30 minutes')
             where booking_id = ${booking} and released_at is null`;
  assertEquals((await outcomes(sql, [booking])).seating_faults, 1, "a hold short of the stay is a fault");
  await sql`update public.booking_table_assignments set released_at = now(), release_reason = 'test'
             where booking_id = ${booking} and released_at is null`;
  assertEquals(
    (await outcomes(sql, [booking])).seating_faults,
    1,
    "so is a confirmed booking holding nothing",
  );
  await sql.end();
});
