// A seated party's longer stay sends the booking the pipeline placed in its way back to be planned
// (20261227020000), without ever waiting for it: while another transaction is changing that booking (a commit
// moving it, an operator's call), the platform's change goes through at once and leaves the overlap for an
// operator; a hold being written on its table is waited for, and once committed its booking is sent back too
// (20261230030000). Real connections play each part; the platform writes as service_role.
import { assert, assertEquals } from "../../../shared/testing/assert.ts";
import type postgres from "postgres";
import {
  connect,
  createRestaurant,
  someDay,
  waitFor,
  waitForTerminal,
} from "../../../shared/testing/stack.ts";

const sql = connect(2);

/** The stay a booking's tables are held for now. */
async function holdOf(bookingId: string): Promise<string> {
  const [{ during }] = await sql`
    select during::text from public.booking_table_assignments where booking_id = ${bookingId} and released_at is null`;
  return during;
}

/**
 * Run `work` in a transaction of its own, kept open (its locks and writes held, uncommitted) until the returned
 * release rolls it back: another transaction changing a booking, as a commit or an operator's call would.
 */
async function holdOpen(
  work: (tx: postgres.TransactionSql) => Promise<unknown>,
): Promise<() => Promise<void>> {
  const gate = connect(1);
  let open = () => {};
  const opened = new Promise<void>((resolve) => (open = resolve));
  let held = () => {};
  const isHeld = new Promise<void>((resolve) => (held = resolve));
  const rolledBack = new Error("rolled back by the test");
  const holding = gate.begin(async (tx) => {
    await work(tx);
    held();
    await opened;
    throw rolledBack;
  }).catch((e) => {
    if (e !== rolledBack) throw e;
  });
  await Promise.race([isHeld, holding]);
  return () => (open(), holding.finally(() => gate.end()));
}

/** A platform's change to a booking, through the role its Data API client has. */
async function platformUpdate(bookingId: string, change: Record<string, string>): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`set local role service_role`;
    await tx`set local statement_timeout = '10s'`;
    await tx`update public.bookings set ${tx(change)} where id = ${bookingId}`;
  });
}

Deno.test("a seated party's longer stay never waits for the booking in its way, and moves it once it is free", async () => {
  const day = someDay();
  const r = await createRestaurant(sql, { tables: [{ number: "W1", capacity: 4 }] });
  const seated = await r.insertBooking(2, `${day}T18:00:00Z`);
  const next = await r.insertBooking(2, `${day}T21:00:00Z`);
  assertEquals([...(await waitForTerminal(sql, [seated, next])).values()], ["confirmed", "confirmed"]);
  await platformUpdate(seated, { status: "checked_in" });
  const hold = () => holdOf(seated);
  const before = await hold();

  const release = await holdOpen((tx) => tx`select 1 from public.bookings where id = ${next} for update`);
  try {
    const started = performance.now();
    await platformUpdate(seated, { end_at: `${day}T21:30:00Z` });
    const waited = performance.now() - started;
    assert(
      waited < 2_000,
      `the platform's change did not wait for the booking being changed (${Math.round(waited)} ms)`,
    );
  } finally {
    await release();
  }
  assertEquals(await hold(), before, "the party keeps the hold it had");
  const [{ overlaps, next_state }] = await sql`
    select (select count(*)::int from public.observability_events
             where booking_id = ${seated} and event_type = 'booking.seated_stay_overlaps') as overlaps,
           (select assignment_state from public.bookings where id = ${next}) as next_state`;
  assertEquals([overlaps, next_state], [1, "confirmed"], "and the overlap is left for an operator");

  // Changed again with the booking free: it is sent back to be planned, and as the room has no other table, it
  // goes to review saying so.
  await platformUpdate(seated, { end_at: `${day}T21:31:00Z` });
  const [{ reason }] = await sql`
    select reason from public.booking_assignment_state_history
     where booking_id = ${next} and to_state = 'assignment_pending' order by version desc limit 1`;
  assert(reason.startsWith("seated_stay_needs_table:"), reason);
  assertEquals((await waitForTerminal(sql, [next])).get(next), "manual_review");
  const [{ review }] =
    await sql`select manual_review_reason as review from public.bookings where id = ${next}`;
  assert(review.startsWith("no_table_fits:"), review);
  const [{ stay }] =
    await sql`select private.blocked_window(b)::text as stay from public.bookings b where b.id = ${seated}`;
  assertEquals(await hold(), stay, "and the party holds its whole stay");
});

Deno.test("a seated party's longer stay waits at most 2 s for a hold another transaction is writing on its table", async () => {
  const day = someDay();
  const r = await createRestaurant(sql, { tables: [{ number: "W1", capacity: 4 }] });
  const seated = await r.insertBooking(2, `${day}T18:00:00Z`);
  assertEquals((await waitForTerminal(sql, [seated])).get(seated), "confirmed");
  await platformUpdate(seated, { status: "checked_in" });
  const later = await r.insertBooking(2, `${day}T22:00:00Z`);
  assertEquals((await waitForTerminal(sql, [later])).get(later), "confirmed");
  // A commit seating another party at 20:30 on the same table, not yet committed.
  const w1 = r.tableIds.get("W1")!;
  const release = await holdOpen((tx) =>
    tx`insert into public.booking_table_assignments (booking_id, restaurant_id, table_id, during, source)
       select ${later}, ${r.id}, ${w1}, tstzrange(${day + "T20:30:00Z"}, ${day + "T21:00:00Z"}), 'auto'`
  );
  try {
    const started = performance.now();
    await platformUpdate(seated, { end_at: `${day}T21:30:00Z` });
    const waited = performance.now() - started;
    assert(
      waited >= 1_500 && waited < 5_000,
      `it waited about 2 s for the hold being written (${Math.round(waited)} ms)`,
    );
  } finally {
    await release();
  }
  const [{ overlaps }] = await sql`
    select count(*)::int as overlaps from public.observability_events
     where booking_id = ${seated} and event_type = 'booking.seated_stay_overlaps'`;
  assertEquals(overlaps, 1, "and went through, leaving the overlap for an operator");
});

Deno.test("a seated party's longer stay looks again once a hold it waited for is committed, and moves its booking", async () => {
  const day = someDay();
  const r = await createRestaurant(sql, { tables: [{ number: "W1", capacity: 4 }] });
  const seated = await r.insertBooking(2, `${day}T18:00:00Z`);
  assertEquals((await waitForTerminal(sql, [seated])).get(seated), "confirmed");
  await platformUpdate(seated, { status: "checked_in" });
  const later = await r.insertBooking(2, `${day}T22:00:00Z`);
  assertEquals((await waitForTerminal(sql, [later])).get(later), "confirmed");
  // A commit seating that booking at 20:30 on the same table, written as the party's stay grows and committed
  // once the change waits for it (a commit takes milliseconds; the change waits up to 2 s).
  const w1 = r.tableIds.get("W1")!;
  const writer = connect(1);
  let written = () => {};
  const isWritten = new Promise<void>((resolve) => (written = resolve));
  let goOn = () => {};
  const changeWaits = new Promise<void>((resolve) => (goOn = resolve));
  const during = [`${day}T20:30:00Z`, `${day}T21:00:00Z`];
  const commit = writer.begin(async (tx) => {
    await tx`insert into public.booking_table_assignments (booking_id, restaurant_id, table_id, during, source)
             select ${later}, ${r.id}, ${w1}, tstzrange(${during[0]}, ${during[1]}), 'auto'`;
    written();
    await changeWaits;
  });
  try {
    await isWritten;
    const change = platformUpdate(seated, { end_at: `${day}T21:30:00Z` });
    await waitFor("the platform's change to wait for the hold being written", async () => {
      const [{ waiting }] = await sql`
        select count(*)::int as waiting from pg_catalog.pg_stat_activity
         where wait_event_type = 'Lock' and query like 'update public.bookings set "end_at"%'`;
      return waiting > 0 ? true : undefined;
    });
    goOn();
    await Promise.all([change, commit]);
  } finally {
    goOn();
    await writer.end();
  }
  const [{ sent_back }] = await sql`
    select count(*)::int as sent_back from public.booking_assignment_state_history
     where booking_id = ${later} and to_state = 'assignment_pending' and reason like 'seated_stay_needs_table:%'`;
  assertEquals(sent_back, 1, "the booking in the way was sent back");
  const [{ stay }] =
    await sql`select private.blocked_window(b)::text as stay from public.bookings b where b.id = ${seated}`;
  assertEquals(await holdOf(seated), stay, "and the party holds its whole stay");
  const [{ overlaps }] = await sql`
    select count(*)::int as overlaps from public.observability_events
     where booking_id = ${seated} and event_type = 'booking.seated_stay_overlaps'`;
  assertEquals(overlaps, 0, "with no overlap left for an operator");
});

Deno.test("a seated party's longer stay that deadlocks with another transaction goes through and leaves the overlap", async () => {
  const day = someDay();
  const r = await createRestaurant(sql, { tables: [{ number: "W1", capacity: 4 }] });
  const seated = await r.insertBooking(2, `${day}T18:00:00Z`);
  assertEquals((await waitForTerminal(sql, [seated])).get(seated), "confirmed");
  await platformUpdate(seated, { status: "checked_in" });
  const before = await holdOf(seated);

  // Another transaction (an operator's script, say) locks the party's hold, then wants the booking itself,
  // which the platform's change holds while it extends the hold: a deadlock. The other side waits longer
  // before looking for one, so Postgres breaks it on the platform's side, inside the longer stay's hold.
  const other = connect(1);
  let locked = () => {};
  const holdLocked = new Promise<void>((resolve) => (locked = resolve));
  let goOn = () => {};
  const platformWaits = new Promise<void>((resolve) => (goOn = resolve));
  const otherSide = other.begin(async (tx) => {
    await tx`set local deadlock_timeout = '20s'`;
    await tx`select 1 from public.booking_table_assignments where booking_id = ${seated} for update`;
    locked();
    await platformWaits;
    await tx`select 1 from public.bookings where id = ${seated} for update`;
  });
  try {
    await holdLocked;
    const started = performance.now();
    const change = platformUpdate(seated, { end_at: `${day}T21:30:00Z` }).then(() =>
      performance.now() - started
    );
    await waitFor("the platform's change to wait for the locked hold", async () => {
      const [{ waiting }] = await sql`
        select count(*)::int as waiting from pg_catalog.pg_stat_activity
         where wait_event_type = 'Lock' and query like 'update public.bookings set "end_at"%'`;
      return waiting > 0 ? true : undefined;
    });
    goOn();
    const waited = await change;
    await otherSide;
    // Postgres looks for a deadlock 1 s (deadlock_timeout) into a wait; the hold gives up on a lock after 2 s.
    // Ended before that, the wait was broken as a deadlock, the branch this test is for.
    assert(waited < 1_900, `the deadlock was found and broken (${Math.round(waited)} ms), not waited out`);
  } finally {
    goOn();
    await other.end();
  }
  assertEquals(await holdOf(seated), before, "the party keeps the hold it had");
  const [{ overlaps, end_at }] = await sql`
    select (select count(*)::int from public.observability_events
             where booking_id = ${seated} and event_type = 'booking.seated_stay_overlaps') as overlaps,
           (select end_at from public.bookings where id = ${seated}) as end_at`;
  assertEquals(
    [overlaps, end_at.toISOString()],
    [1, `${day}T21:30:00.000Z`],
    "the change went through, with the overlap left for an operator",
  );
});
