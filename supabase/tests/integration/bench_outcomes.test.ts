// The pipeline benchmark's safety and fairness figures can fail: a seating fault is counted when a confirmed
// booking's tables no longer hold its stay, though no constraint refuses that; a booking served out of its turn
// is counted too. Needs `scripts/stack start`.
import { assertEquals } from "../../../shared/testing/assert.ts";
import { connect, createRestaurant, someDay, waitForTerminal } from "../../../shared/testing/stack.ts";
import { arrivalOrder, outcomes } from "../../../scripts/bench/pipeline/drive.ts";

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
});

Deno.test("the benchmark counts an earlier booking sent to review while a later one like it was seated", async () => {
  const r = await createRestaurant(sql, { tables: [{ number: "F1", capacity: 4 }] });
  const at = `${someDay()}T19:00:00Z`;
  const first = await r.insertBooking(2, at);
  await waitForTerminal(sql, [first]);
  const second = await r.insertBooking(2, at);
  assertEquals([...(await waitForTerminal(sql, [first, second])).values()], ["confirmed", "manual_review"]);
  assertEquals(await arrivalOrder(sql, [first, second]), {
    refused_while_a_later_one_was_seated: 0,
    begun_out_of_order_share: 0,
    most_overtaken: 0,
  }, "served in the order they came");
  // As if the refused one had come first (set past the trigger that keeps a row's insert time).
  await sql.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    await tx`update public.bookings set created_at = created_at - interval '1 hour' where id = ${second}`;
  });
  assertEquals(await arrivalOrder(sql, [first, second]), {
    refused_while_a_later_one_was_seated: 1,
    begun_out_of_order_share: 1,
    most_overtaken: 1,
  }, "the earlier one refused while the later one was seated, and begun after it");
});

// Closed when the test process ends, not by a test of its own (one that asserts nothing would count as passed).
globalThis.addEventListener("unload", () => void sql.end());
