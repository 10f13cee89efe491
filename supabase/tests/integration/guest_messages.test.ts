// What the guest is told matches the booking, exactly once per message, whatever happens in between:
// random sequences of confirmations, changes of time and party size (back and forth), moves to other
// tables, cancellations, dispatcher runs (the real notification-dispatcher function and its sink sender),
// duplicate runs at once, and dispatchers that die after claiming. Operations go through the real RPCs and
// triggers. The restaurant's mode is `off`, so the coordinator never races the test for a booking: every
// confirmation is an operator's (ops.assign_tables), which the pipeline treats exactly like its own.
import fc from "fast-check";
import { assert, assertEquals } from "../../../shared/testing/assert.ts";
import {
  connect,
  createRestaurant,
  postToFunction,
  type SinkLine,
  sinkLines,
  waitFor,
  withDispatchPaused,
} from "../../../shared/testing/stack.ts";

const sql = connect(4);
const TIMES = ["19:00", "19:30", "20:00"];
const PARTIES = [2, 3, 4];

type Op =
  | { kind: "confirm"; table: "T1" | "T2" }
  | { kind: "time"; at: string }
  | { kind: "party"; size: number }
  | { kind: "cancel" }
  | { kind: "dispatch"; copies: 1 | 2 }
  | { kind: "crash" };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("confirm" as const), table: fc.constantFrom("T1" as const, "T2" as const) }),
  fc.record({ kind: fc.constant("time" as const), at: fc.constantFrom(...TIMES) }),
  fc.record({ kind: fc.constant("party" as const), size: fc.constantFrom(...PARTIES) }),
  fc.constant({ kind: "cancel" as const }),
  fc.record({ kind: fc.constant("dispatch" as const), copies: fc.constantFrom(1 as const, 2 as const) }),
  fc.constant({ kind: "crash" as const }),
);

async function dispatch(copies: number): Promise<void> {
  const responses = await Promise.all(
    Array.from({ length: copies }, () => postToFunction("notification-dispatcher", { trigger: "test" })),
  );
  for (const r of responses) assertEquals(r.status, 200, "the dispatcher runs");
}

async function apply(o: Op, id: string, day: string): Promise<void> {
  // An operation the booking's state does not allow (e.g. anything after a cancellation) is refused by
  // the database and changes nothing, as it would for a real client.
  try {
    switch (o.kind) {
      case "confirm":
        await sql`select ops.assign_tables(${id}, array[${o.table}], 'property test')`;
        break;
      case "time":
        await sql`update public.bookings set start_at = ${`${day}T${o.at}:00Z`} where id = ${id}
                   and status <> 'cancelled'`;
        break;
      case "party":
        await sql`update public.bookings set party_size = ${o.size} where id = ${id} and status <> 'cancelled'`;
        break;
      case "cancel":
        await sql`select public.cancel_booking(${id}, 'guest called', 'property test')`;
        break;
      case "dispatch":
        await dispatch(o.copies);
        break;
      case "crash":
        // A dispatcher that claims and dies before sending or recording anything: its lease runs out at once.
        await sql`select count(*) from public.notification_claim(100, 1) c where c.booking_id = ${id}`;
        break;
    }
  } catch (error) {
    if (!(error instanceof Error) || !("code" in error) || !String(error.code).startsWith("AS")) throw error;
  }
}

async function waiting(id: string): Promise<number> {
  const [{ n }] = await sql`
    select count(*)::int as n from public.notification_outbox
     where booking_id = ${id} and status in ('pending', 'sending')`;
  return n;
}

Deno.test("the guest's last message always matches the booking, no message is delivered twice", async () => {
  const r = await createRestaurant(sql, {
    tables: [{ number: "T1", capacity: 4 }, { number: "T2", capacity: 4 }],
  });
  await sql`select ops.set_restaurant_mode(${r.id}, 'off', 'property test', 'operators confirm by hand')`;
  let day = 0;

  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 10 }), async (ops) => {
      // Each run books its own day, so runs never compete for the two tables.
      const date = new Date(Date.UTC(2031, 0, 1) + day++ * 86_400_000).toISOString().slice(0, 10);
      const id = await r.insertBooking(2, `${date}T19:00:00Z`);
      for (const o of ops) await apply(o, id, date);
      // Settle: a booking the guest still waits to hear about is confirmed, then everything due goes out.
      const [b] = await sql`select status from public.bookings where id = ${id}`;
      if (b.status !== "cancelled" && b.status !== "confirmed") {
        await apply({ kind: "confirm", table: "T1" }, id, date);
      }
      // A run delivers the 50 longest due: messages other tests left (an operator's accepted alternatives,
      // say) may come before this booking's, so it runs until none of this booking's is left.
      for (let round = 0; round < 20 && await waiting(id) > 0; round++) await dispatch(1);

      const [final] = await sql`
        select status, start_at, end_at, party_size from public.bookings where id = ${id}`;
      const delivered: SinkLine[] = sinkLines().filter((l) => l.booking_id === id);
      const keys = delivered.map((l) => l.idempotency_key);
      assertEquals(new Set(keys).size, keys.length, `no message is delivered twice: ${keys}`);
      assertEquals(
        delivered.map((l) => l.booking.seq),
        [...delivered.map((l) => l.booking.seq)].sort((a, b) => a - b),
        "messages arrive in the order they were written",
      );
      const last = delivered.at(-1);
      if (final.status === "cancelled") {
        assert(
          last === undefined || last.kind === "booking_cancelled",
          `a cancelled booking's guest heard nothing, or last heard of the cancellation (got ${last?.kind})`,
        );
      } else {
        assert(last !== undefined, "a confirmed booking's guest has heard of it");
        assert(last.kind !== "booking_cancelled", "and was not told it was cancelled");
        assertEquals(
          [Date.parse(last.booking.start_at), Date.parse(last.booking.end_at), last.booking.party_size],
          [final.start_at.getTime(), final.end_at.getTime(), final.party_size],
          "the last message says the booking's time and party size",
        );
      }
      assertEquals(await waiting(id), 0, "nothing is left waiting");
    }),
    { numRuns: 30 },
  );
});

Deno.test("a cancellation while a dispatcher is claiming the confirmation is still told to the guest", () =>
  // Dispatch paused: a live coordinator confirming some other booking delivers every due message, this
  // test's confirmation among them, before the test's own claim.
  withDispatchPaused(sql, async () => {
    const r = await createRestaurant(sql, { tables: [{ number: "C1", capacity: 4 }] });
    await sql`select ops.set_restaurant_mode(${r.id}, 'off', 'race test', 'operators confirm by hand')`;
    const id = await r.insertBooking(2, "2031-05-06T19:00:00Z");
    await sql`select ops.assign_tables(${id}, array['C1'], 'race test')`;
    // A dispatcher's claim of the confirmation, not yet committed, on a connection of its own. (Other
    // bookings' messages it claims too are handed back before it commits.)
    const dispatcher = connect(1);
    const guest = connect(1);
    let claimed = () => {};
    const isClaimed = new Promise<void>((resolve) => (claimed = resolve));
    let commit = () => {};
    const committed = new Promise<void>((resolve) => (commit = resolve));
    const claiming = dispatcher.begin(async (tx) => {
      const rows = await tx<{ id: number; booking_id: string }[]>`
      select id, booking_id from public.notification_claim(500, 60000)`;
      const others = rows.filter((m) => m.booking_id !== id).map((m) => m.id);
      await tx`update public.notification_outbox
                set status = 'pending', lease_token = null, lease_expires_at = null, attempts = attempts - 1
              where id = any(${others}::bigint[])`;
      assertEquals(rows.filter((m) => m.booking_id === id).length, 1, "the confirmation is being claimed");
      claimed();
      await committed;
    });
    try {
      await Promise.race([isClaimed, claiming]);
      // The guest cancels meanwhile; their cancellation waits for the claim, then sees the confirmation going out.
      const [{ pid }] = await guest<{ pid: number }[]>`select pg_backend_pid() as pid`;
      const cancelling = guest`select public.cancel_booking(${id}, 'guest called', 'race test')`.execute();
      cancelling.catch(() => {}); // awaited below; a failure must not surface as unhandled before then
      // Commit the claim only once the cancellation is seen blocked on it (in any case, so a failure here
      // cannot hang the test).
      try {
        await waitFor("the cancellation to wait for the claim's lock", async () => {
          const [row] = await sql`
          select 1 from pg_stat_activity where pid = ${pid} and wait_event_type = 'Lock'`;
          return row ? true : undefined;
        });
      } finally {
        commit();
      }
      await claiming;
      await cancelling;
      const messages = await sql<{ kind: string; status: string }[]>`
      select kind, status from public.notification_outbox where booking_id = ${id} order by seq`;
      assertEquals(messages.map((m) => `${m.kind} ${m.status}`), [
        "booking_confirmed sending",
        "booking_cancelled pending",
      ], "the confirmation goes out, and the cancellation after it");
    } finally {
      commit();
      await claiming.catch(() => {});
      await Promise.all([dispatcher.end(), guest.end()]);
    }
  }).finally(() => sql.end()));
