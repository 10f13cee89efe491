// The exact fallback end to end: a booking that only a chain of six moves can seat (one more than the
// bounded re-optimisation search may make) is confirmed, every booking in the chain moved in the same
// commit; with the chain's last booking placed by staff, it goes to manual review. Needs `scripts/stack start`.
import { assert, assertEquals } from "../../../shared/testing/assert.ts";
import {
  activeTables as tablesHeld,
  connect,
  createRestaurant,
  someDay,
  waitForTerminal,
} from "../../../shared/testing/stack.ts";

const sql = connect(4);
const SIZES = [2, 3, 4, 5, 6, 7];

/**
 * Tables for 2 to 8 that never join. Each party of k (2–7) sits one table up, on the (k+1)-top, because a
 * blocker held the k-top when it booked; the blockers are cancelled since. A party of eight then needs the
 * 8-top: the 7 must move down to the 7-top, the 6 to the 6-top, … the 2 to the free 2-top.
 */
async function oneTableUp() {
  const r = await createRestaurant(sql, {
    tables: [2, 3, 4, 5, 6, 7, 8].map((c) => ({ number: `T${c}`, capacity: c, movable: false })),
  });
  await sql`select ops.set_reoptimization(true, 'test', ${r.id}::uuid, 'exact fallback test')`;
  const at = `${someDay()}T19:00:00Z`;
  const blockers = new Map<number, string>();
  for (const k of SIZES) blockers.set(k, await r.insertBooking(k, at));
  assert([...(await waitForTerminal(sql, [...blockers.values()])).values()].every((s) => s === "confirmed"));
  const chain = new Map<number, string>();
  for (const k of [...SIZES].reverse()) {
    const b = await r.insertBooking(k, at);
    assertEquals([...(await waitForTerminal(sql, [b])).values()], ["confirmed"]);
    assertEquals(await tablesHeld(sql, b), [`T${k + 1}`], `the party of ${k} sits one table up`);
    chain.set(k, b);
    await sql`select ops.cancel_booking(${blockers.get(k)!}::uuid, 'guest cancelled', 'test')`;
  }
  return { r, chain, at };
}

Deno.test("a party only six moves can seat is confirmed through the exact fallback, the chain moved in one commit", async () => {
  const { r, chain, at } = await oneTableUp();
  const eight = await r.insertBooking(8, at);
  assertEquals([...(await waitForTerminal(sql, [eight])).values()], ["confirmed"]);
  assertEquals(await tablesHeld(sql, eight), ["T8"]);
  for (const [k, b] of chain) {
    assertEquals(await tablesHeld(sql, b), [`T${k}`], `the party of ${k} moved down`);
  }
  const [confirmed] = await sql<{ moved: number }[]>`
    select (context ->> 'moved_bookings')::int as moved from public.observability_events
     where booking_id = ${eight} and event_type = 'coordinator.confirmed'`;
  assertEquals(confirmed.moved, 6);
  const [{ overlaps }] = await sql<{ overlaps: number }[]>`
    select count(*)::int as overlaps from public.booking_table_assignments a
      join public.booking_table_assignments b on a.table_id = b.table_id and a.id < b.id and a.during && b.during
     where a.restaurant_id = ${r.id} and a.released_at is null and b.released_at is null`;
  assertEquals(overlaps, 0);
});

Deno.test("with a booking of the chain placed by staff, the exact fallback proves there is no room: manual review", async () => {
  const { r, chain, at } = await oneTableUp();
  // Staff move the couple to the 2-top and back (asking for the tables it holds changes nothing): placed by
  // staff, it may no longer move, so the chain is broken.
  for (const t of ["T2", "T3"]) {
    await sql`select ops.assign_tables(${chain.get(2)!}::uuid, array[${t}], 'test', 'guest asked for it')`;
  }
  const eight = await r.insertBooking(8, at);
  assertEquals([...(await waitForTerminal(sql, [eight])).values()], ["manual_review"]);
  const [{ reason }] = await sql<{ reason: string }[]>`
    select manual_review_reason as reason from public.bookings where id = ${eight}`;
  assert(reason.startsWith("no_table_fits: ") && reason.includes("(exact search)"), reason);
  assertEquals(await tablesHeld(sql, chain.get(7)!), ["T8"], "nobody was moved");
});

// Closed when the test process ends, not by a test of its own (one that asserts nothing would count as passed).
globalThis.addEventListener("unload", () => void sql.end());
