// Alternatives that re-seat other bookings, against the running stack: a party of four nothing seats within
// ±90 minutes goes to review; once its restaurant has nothing waiting, the real coordinator function finds
// that moving a couple from the 4-top to the 2-top makes room, the queue offers it, and an operator's
// acceptance through the Data API moves the couple and seats the four — no double booking, one message. A
// review made while no request comes is searched too: a sweep sends the function one.
import { assert, assertEquals } from "../../../shared/testing/assert.ts";
import {
  activeTables,
  connect,
  createRestaurant,
  DB_URL,
  localDataApi,
  sendToReview,
  waitFor,
  waitForTerminal,
  withDispatchPaused,
} from "../../../shared/testing/stack.ts";
import { postgresStore } from "../../../shared/store/postgres.ts";
import { RESEATING_SEARCHES_PER_REVIEW } from "../../../shared/engine/reseating.ts";

const sql = connect(2);

/**
 * Reviews are searched soonest first, one at a time, and other tests leave reviews waiting on days from a month
 * ahead (someDay): these tests' bookings are the day after tomorrow, so theirs are searched first.
 */
function soonDay(): string {
  return new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
}

interface Alternative {
  start_at: string;
  tables: string[];
  moves?: { booking_id: string; from: string[]; to: string[] }[];
}

Deno.test("the benchmark's searches per review are the database's", async () => {
  const [{ n }] = await sql`select private.reseating_searches_per_review() as n`;
  assertEquals(n, RESEATING_SEARCHES_PER_REVIEW);
});

Deno.test("a review nothing free can cure gets an alternative that re-seats a couple, and accepting it seats both", async () => {
  const { platform } = await localDataApi();
  const ops = platform.schema("ops");
  const r = await createRestaurant(sql, {
    tables: [{ number: "S1", capacity: 2 }, { number: "S4", capacity: 4 }],
  });
  const day = soonDay();
  // The couple takes the 4-top because another couple holds the 2-top then; that one cancels.
  const first = await r.insertBooking(2, `${day}T19:00:00Z`);
  assertEquals((await waitForTerminal(sql, [first], 30_000)).get(first), "confirmed");
  const couple = await r.insertBooking(2, `${day}T19:00:00Z`);
  assertEquals((await waitForTerminal(sql, [couple], 30_000)).get(couple), "confirmed");
  assertEquals(await activeTables(sql, couple), ["S4"]);
  const { error } = await platform.rpc("cancel_booking", { p_booking_id: first, p_reason: "guest called" });
  assertEquals(error, null);

  const four = await r.insertBooking(4, `${day}T19:00:00Z`);
  assertEquals((await waitForTerminal(sql, [four], 30_000)).get(four), "manual_review");

  // The function searches once its drain has been idle a moment.
  const offered = await waitFor("a re-seating alternative in the queue", async () => {
    const { data } = await ops.rpc("manual_review_queue", { p_restaurant_id: r.id });
    const row =
      (data as unknown as { booking_id: string; alternatives: Alternative[]; alternatives_note: string }[])
        .find((q) => q.booking_id === four);
    return row && row.alternatives.some((a) => a.moves) ? row : undefined;
  }, 30_000);
  const nearest = offered.alternatives[0];
  assertEquals(nearest.tables, ["S4"]);
  assertEquals(nearest.moves?.map((m) => [m.booking_id, m.from, m.to]), [[couple, ["S4"], ["S1"]]]);
  assert(offered.alternatives_note.includes("moving 1 booking"), offered.alternatives_note);

  const accepted = await ops.rpc("accept_alternative", {
    p_booking_id: four,
    p_start_at: nearest.start_at,
    p_actor: "ana",
  });
  assertEquals(accepted.error, null);
  assertEquals((accepted.data as { outcome: string; moved_bookings: number }).moved_bookings, 1);
  assertEquals(await activeTables(sql, couple), ["S1"]);
  assertEquals(await activeTables(sql, four), ["S4"]);
  const [b] = await sql`select assignment_state, start_at from public.bookings where id = ${four}`;
  assertEquals([b.assignment_state, b.start_at.toISOString()], [
    "confirmed",
    new Date(nearest.start_at).toISOString(),
  ]);
  const [{ messages }] = await sql`
    select count(*)::int as messages from public.notification_outbox where booking_id = ${four}`;
  assertEquals(messages, 1, "the four are told their time once");
  const [{ overlapping }] = await sql`
    select count(*)::int as overlapping
      from public.booking_table_assignments a join public.booking_table_assignments b
        on a.table_id = b.table_id and a.id < b.id and a.during && b.during
     where a.restaurant_id = ${r.id} and a.released_at is null and b.released_at is null`;
  assertEquals(overlapping, 0, "no table is held twice at once");
});

Deno.test("a review waiting while no booking brings a request is searched after a sweep sends the function one", async () => {
  const r = await createRestaurant(sql, {
    tables: [{ number: "N1", capacity: 2 }, { number: "N4", capacity: 4 }],
  });
  const day = soonDay();
  const store = postgresStore(DB_URL, { max: 1 });
  let four = "";
  try {
    // Set up through the pipeline's own RPCs with the function out of the way: the couple on the 4-top, the
    // four in review for lack of tables, and no request to the function about either.
    await withDispatchPaused(sql, async () => {
      const couple = await r.insertBooking(2, `${day}T19:00:00Z`);
      four = await r.insertBooking(4, `${day}T19:00:00Z`);
      const c = await store.begin({ bookingId: couple, trigger: "test" });
      assert(c.outcome === "ready");
      await store.commit({
        bookingId: couple,
        leaseToken: c.lease_token,
        tableIds: [r.tableIds.get("N4")!],
        strategy: "optimal_fit",
        durationMs: 1,
        metadata: {},
      });
      await sendToReview(store, four);
    });
  } finally {
    await store.close();
  }
  const offers = await waitFor("the re-seating search of the waiting review", async () => {
    const [row] = await sql`select offers from private.reseating_offers where booking_id = ${four}`;
    return row?.offers as { moves: unknown[] }[] | undefined;
  }, 30_000);
  assert(offers.length > 0 && offers.every((o) => o.moves.length === 1), JSON.stringify(offers));
  const [{ nudged }] = await sql`
    select count(*)::int as nudged from net._http_response
     where content::jsonb ->> 'booking_id' = ${four} and content::jsonb ->> 'reason' = 'terminal_state'`;
  assert(nudged >= 1, "the function was sent the review itself, and left it in review");
});
