// End to end through the real path: a platform's INSERT through the Data API (supabase-js as service_role)
// → trigger → pg_net (stand-in worker) → assignment-coordinator (Deno serving the real function) → plpgsql
// RPCs. Needs `scripts/stack start`.
import { assert, assertEquals } from "../../../shared/testing/assert.ts";
import {
  activeTables as tablesHeld,
  connect,
  createRestaurant,
  holdLock,
  holdRestaurantLock,
  localDataApi,
  postToFunction,
  sinkLines,
  someDay,
  STACK_DIR,
  waitFor,
  waitForTerminal,
  withDispatchPaused,
} from "../../../shared/testing/stack.ts";
import type { TablesInsert } from "../../../shared/database.types.ts";
import { z } from "../../../shared/deps.ts";
import { EMAIL_PATTERN, findPersonalData, PHONE_PATTERN } from "../../../shared/telemetry/personal-data.ts";

const sql = connect(12);
const LOG_DIR = `${STACK_DIR}/logs`;
const FULL_PATH = [
  "created",
  "capacity_verified",
  "assignment_pending",
  "assignment_in_progress",
  "assigned",
  "confirmed",
];

const activeTables = (bookingId: string) => tablesHeld(sql, bookingId);
// The sink keeps what earlier runs delivered; a run's own deliveries start here.
const SINK_LINES_BEFORE = sinkLines().length;
const { platform } = await localDataApi();

/** Until the guest has their confirmation (the coordinator sends it within its delivery window), so that a
 * change made next is news to them. */
async function confirmationSent(bookingId: string): Promise<void> {
  await waitFor("the confirmation to be sent", async () => {
    const [m] = await sql`select status from public.notification_outbox where booking_id = ${bookingId}`;
    return m?.status === "sent" ? true : undefined;
  });
}

async function overlappingAssignments(restaurantId: string): Promise<number> {
  const [{ n }] = await sql<{ n: number }[]>`
    select count(*)::int as n from public.booking_table_assignments a
      join public.booking_table_assignments b on a.table_id = b.table_id and a.id < b.id and a.during && b.during
     where a.restaurant_id = ${restaurantId} and a.released_at is null and b.released_at is null`;
  return n;
}

Deno.test("bookings a platform inserts through the Data API are confirmed on valid tables, through every state in order", async () => {
  const r = await createRestaurant(sql, {
    tables: [{ number: "A1", capacity: 2 }, { number: "A2", capacity: 4 }, { number: "A3", capacity: 6 }],
  });
  const day = someDay();
  const ids = [
    await r.insertBooking(2, `${day}T19:00:00Z`),
    await r.insertBooking(4, `${day}T19:00:00Z`),
    await r.insertBooking(5, `${day}T19:00:00Z`),
  ];
  const states = await waitForTerminal(sql, ids);
  assertEquals([...states.values()], ["confirmed", "confirmed", "confirmed"]);
  assertEquals(await activeTables(ids[0]), ["A1"]);
  assertEquals(await activeTables(ids[1]), ["A2"]);
  assertEquals(await activeTables(ids[2]), ["A3"]);
  for (const id of ids) {
    const history = await sql<{ from_state: string; to_state: string; version: number }[]>`
      select from_state, to_state, version from public.booking_assignment_state_history
       where booking_id = ${id} order by version`;
    assertEquals([history[0].from_state, ...history.map((h) => h.to_state)], FULL_PATH);
    assertEquals(history.map((h) => h.version), [2, 3, 4, 5, 6]);
  }
  const [{ status }] = await sql`select status from public.bookings where id = ${ids[0]}`;
  assertEquals(status, "confirmed");
});

Deno.test("a booking and a table whose ids Postgres accepts but RFC 4122 does not are confirmed", async () => {
  // Version and variant digits 0: any hex is a uuid to Postgres, not to a strict RFC 4122 parser.
  const oddId = () => crypto.randomUUID().replace(/^(.{14}).(.{4}).(.*)$/, "$10$20$3");
  const [table, bookingId] = [oddId(), oddId()];
  assertEquals(z.uuid().safeParse(bookingId).success, false, "a strict parser refuses these ids");
  const r = await createRestaurant(sql, { tables: [{ id: table, number: "U1", capacity: 2 }] });
  assertEquals(r.tableIds.get("U1"), table);
  const booking = {
    id: bookingId,
    restaurant_id: r.id,
    party_size: 2,
    start_at: `${someDay()}T19:00:00Z`,
  } as TablesInsert<"bookings">;
  assertEquals((await platform.from("bookings").insert(booking)).error, null);
  assertEquals((await waitForTerminal(sql, [bookingId])).get(bookingId), "confirmed");
  assertEquals(await activeTables(bookingId), ["U1"]);
});

Deno.test("when every table is taken the booking goes to manual review with a reason", async () => {
  const r = await createRestaurant(sql, { tables: [{ number: "B1", capacity: 4 }] });
  const day = someDay();
  const first = await r.insertBooking(2, `${day}T19:00:00Z`);
  await waitForTerminal(sql, [first]);
  const second = await r.insertBooking(2, `${day}T19:30:00Z`);
  const states = await waitForTerminal(sql, [second]);
  assertEquals(states.get(second), "manual_review");
  const [b] = await sql`select manual_review_reason from public.bookings where id = ${second}`;
  assert(b.manual_review_reason.startsWith("no_table_fits: "), b.manual_review_reason);
  const [e] = await sql`
    select context from public.observability_events
     where booking_id = ${second} and event_type = 'coordinator.manual_review'`;
  assertEquals(e.context.reason, "no_table_fits");
});

Deno.test("a party no arrangement can seat is escalated at capacity verification", async () => {
  const r = await createRestaurant(sql, {
    tables: [{ number: "C1", capacity: 4 }, { number: "C2", capacity: 4 }],
    adjacency: [["C1", "C2"]],
  });
  const id = await r.insertBooking(9, `${someDay()}T19:00:00Z`);
  assertEquals((await waitForTerminal(sql, [id])).get(id), "manual_review");
  const [b] = await sql`select manual_review_reason from public.bookings where id = ${id}`;
  assertEquals(
    b.manual_review_reason,
    "party_too_large: a party of 9 exceeds the largest possible arrangement (8 seats)",
  );
});

Deno.test("five concurrent bookings for one restaurant are all confirmed without overlap", async () => {
  const r = await createRestaurant(sql, {
    tables: ["D1", "D2", "D3", "D4", "D5", "D6"].map((number) => ({ number, capacity: 4 })),
  });
  const day = someDay();
  const ids = await Promise.all(Array.from({ length: 5 }, () => r.insertBooking(3, `${day}T20:00:00Z`)));
  const states = await waitForTerminal(sql, ids);
  assertEquals([...states.values()].filter((s) => s === "confirmed").length, 5);
  assertEquals(await overlappingAssignments(r.id), 0);
  const tables = (await Promise.all(ids.map(activeTables))).flat();
  assertEquals(new Set(tables).size, 5, "five different tables");
});

Deno.test("ten bookings arriving at once run max_parallel at a time: the limit is reached, never exceeded", async () => {
  const maxParallel = 2;
  const r = await createRestaurant(sql, {
    tables: Array.from({ length: 10 }, (_, i) => ({ number: `E${i + 1}`, capacity: 2 })),
    maxParallel,
  });
  const day = someDay();
  // Hold the restaurant lock (which every begin takes first) while the bookings arrive, so the begins of those
  // dispatched queue up behind it and then really compete for the slots, however fast the machine is. (The
  // rest join the restaurant's queue at insert: the slots are already spoken for.)
  const gate = await holdRestaurantLock(sql, r.id);
  try {
    // Ten bookings in one request, i.e. one statement: their ten nudges leave in one pg_net batch, so ten
    // requests reach the coordinator together (one batch waits for all its requests, so separate commits
    // could trickle). end_at is derived by a trigger, which the generated Insert type cannot know.
    const booking = { restaurant_id: r.id, party_size: 2, start_at: `${day}T20:00:00Z` } as TablesInsert<
      "bookings"
    >;
    const inserted = await platform.from("bookings").insert(Array(10).fill(booking)).select("id");
    assertEquals(inserted.error, null);
    const ids = inserted.data!.map((b) => b.id);
    await waitFor("begins to queue for the restaurant lock", async () => {
      const [{ waiting }] = await sql<{ waiting: number }[]>`
        select count(*)::int as waiting from pg_locks
         where locktype = 'advisory' and not granted and objsubid = 1
           and classid = ((${gate.key}::bigint >> 32) & 4294967295)::oid and objid = (${gate.key}::bigint & 4294967295)::oid`;
      return waiting >= maxParallel ? true : undefined;
    });
    await gate.release();

    const states = await waitForTerminal(sql, ids, 20_000);
    assertEquals([...states.values()].filter((s) => s === "confirmed").length, 10);
    // Each state change happens under the restaurant lock in its own transaction, so history order is the
    // real order: replay it and track how many bookings were in progress at each point.
    const changes = await sql<{ from_state: string; to_state: string }[]>`
      select from_state, to_state from public.booking_assignment_state_history
       where booking_id = any(${ids}::uuid[]) order by id`;
    let inProgress = 0;
    let peak = 0;
    for (const c of changes) {
      if (c.to_state === "assignment_in_progress") inProgress++;
      if (c.from_state === "assignment_in_progress") inProgress--;
      peak = Math.max(peak, inProgress);
    }
    assertEquals(peak, maxParallel, `the limit was reached (peak ${peak}) and never exceeded`);
    // Bookings over the limit waited: deferred by a begin that found the slots taken, or queued at insert and
    // begun later, once a freed slot woke them, by whoever took them first (a claim loop or the sweeper), never
    // by their insert's own dispatch.
    const [{ limited, queued }] = await sql<{ limited: number; queued: number }[]>`
      select (select count(*)::int from public.observability_events
               where booking_id = any(${ids}::uuid[]) and event_type = 'coordinator.retry'
                 and context ->> 'reason' = 'rate_limited' and (context ->> 'max_parallel')::int = ${maxParallel}) as limited,
             (select count(*)::int from public.booking_assignment_state_history
               where booking_id = any(${ids}::uuid[]) and to_state = 'assignment_in_progress'
                 and metadata ->> 'trigger' <> 'insert') as queued`;
    assert(limited + queued >= ids.length - maxParallel, "every booking over the limit waited for a slot");
    assertEquals(await overlappingAssignments(r.id), 0);
  } finally {
    await gate.release();
  }
});

Deno.test("a booking that joins the queue while the last one in flight leaves is taken at once", async () => {
  const r = await createRestaurant(sql, { tables: [{ number: "Q1", capacity: 4 }], maxParallel: 1 });
  const day = someDay();
  // The restaurant lock held, so the first booking's coordinator waits in its begin: that booking keeps the
  // only slot, dispatched and not begun.
  const gate = await holdRestaurantLock(sql, r.id);
  const joiner = connect(1);
  try {
    const holder = await r.insertBooking(2, `${day}T18:00:00Z`);
    let waiting = "";
    await joiner.begin(async (tx) => {
      const [row] = await tx<{ id: string; queued: boolean }[]>`
        insert into public.bookings (restaurant_id, party_size, start_at)
        values (${r.id}, 2, ${`${day}T20:00:00Z`}) returning id, deferred_since is not null as queued`;
      waiting = row.id;
      assert(row.queued, "staged: the second booking joins the queue behind the first");
      // The first leaves (its guest cancels; cancelling takes no restaurant lock) and commits while this
      // insert is still open: its wake cannot see the second booking, and nothing else is in flight.
      await sql`select public.cancel_booking(${holder}, 'guest cancelled')`;
    });
    await gate.release();
    // Let through, the first booking's coordinator finds it cancelled and goes on claiming: its first claim
    // that finds nothing due finds the queue stranded and takes it at once. Should that coordinator be gone,
    // the sweeper does within 5 s. Either way well before the fallback the booking waited for before (10 s,
    // then a sweep).
    assertEquals((await waitForTerminal(sql, [waiting], 8_000)).get(waiting), "confirmed");
  } finally {
    await gate.release();
    await joiner.end();
  }
});

Deno.test("two wakers that find the same queue stranded wake it once", async () => {
  const r = await createRestaurant(sql, { tables: [{ number: "W1", capacity: 4 }], maxParallel: 1 });
  const day = someDay();
  const first = connect(1);
  try {
    await withDispatchPaused(sql, async () => {
      const holder = await r.insertBooking(2, `${day}T18:00:00Z`);
      const queue = [
        await r.insertBooking(2, `${day}T19:00:00Z`),
        await r.insertBooking(2, `${day}T20:00:00Z`),
      ];
      // A missed wake, staged: the first booking leaves with the wake trigger off.
      await sql.begin(async (tx) => {
        await tx`alter table public.bookings disable trigger wake_next_deferred`;
        await tx`select public.cancel_booking(${holder}, 'guest cancelled')`;
        await tx`alter table public.bookings enable trigger wake_next_deferred`;
      });
      // Two claim loops (or one and the sweeper) at once: the second looks while the first has not committed.
      await first.begin(async (tx) => {
        await tx`select private.wake_stranded_queues(now(), ${r.id})`;
        await sql`select private.wake_stranded_queues(now(), ${r.id})`;
      });
      await sql`select private.wake_stranded_queues(now(), ${r.id})`;
      // Woken, or handed out by a sweep that came first (dispatch is paused, so it went nowhere).
      const [{ taken }] = await sql<{ taken: number }[]>`
        select count(*)::int as taken from public.bookings
         where id = any(${queue}::uuid[]) and (next_attempt_at <= now() or last_dispatched_at is not null)`;
      assertEquals(taken, 1, "one booking woken for the restaurant's one slot, not one per waker");
    });
  } finally {
    await first.end();
  }
});

Deno.test("a sweep that finds another running waits for it instead of racing it", async () => {
  const r = await createRestaurant(sql, { tables: [{ number: "S1", capacity: 4 }] });
  const day = someDay();
  await withDispatchPaused(sql, async () => {
    const id = await r.insertBooking(2, `${day}T19:00:00Z`);
    // The running sweep's lock first: a scheduled sweep that started before it could otherwise escalate the
    // booking made due below before the lock is held.
    const running = await holdLock(sql, "sweeper", "00000000-0000-0000-0000-000000000000");
    const other = connect(1);
    let second: Promise<Record<string, number>> | undefined;
    const sleep = <T>(ms: number, value: T) =>
      new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));
    try {
      // Handed out as often as allowed without an attempt beginning: the next sweep to look escalates it.
      await sql`update public.bookings
                   set next_attempt_at = now() - interval '1 second',
                       dispatch_count = (private.settings_for(null)).max_dispatches
                 where id = ${id}`;
      const [{ pid }] = await other<{ pid: number }[]>`select pg_backend_pid() as pid`;
      second = other<{ swept: Record<string, number> }[]>`select private.sweep() as swept`.then((rows) =>
        rows[0].swept
      );
      second.catch(() => {}); // awaited below; a failure must not surface as unhandled before then
      // The second sweep is seen waiting, on this very connection, for the lock the running sweep holds.
      await waitFor("the second sweep to wait for the running one's lock", async () => {
        const [row] = await sql`
          select 1 from pg_locks
           where pid = ${pid} and locktype = 'advisory' and not granted
             and ((classid::bigint << 32) | objid::bigint) = ${running.key}::bigint`;
        return row ? true : undefined;
      });
      assertEquals(
        await Promise.race([second.then(() => "finished"), sleep(300, "pending")]),
        "pending",
        "the second sweep has not run while the first holds the lock",
      );
      const [{ state }] = await sql<{ state: string }[]>`
        select assignment_state as state from public.bookings where id = ${id}`;
      assertEquals(state, "created", "no sweep touches the booking while one runs");
    } finally {
      await running.release();
    }
    // Released, the waiting sweep goes on and finishes.
    const outcome = await Promise.race([second.then((swept) => ({ swept })), sleep(10_000, undefined)]);
    assert(outcome !== undefined, "the waiting sweep finishes once the running one is done");
    assertEquals(
      typeof outcome.swept,
      "object",
      `the sweep reports what it did: ${JSON.stringify(outcome.swept)}`,
    );
    await other.end();
    // Then the waiting sweep (or the scheduled one queued behind it) escalates it.
    const states = await waitForTerminal(sql, [id], 10_000);
    assertEquals(states.get(id), "manual_review");
  });
});

Deno.test("the same booking dispatched three more times gets one set of tables and one notification", async () => {
  const r = await createRestaurant(sql, {
    tables: [{ number: "F1", capacity: 2 }, { number: "F2", capacity: 4 }],
  });
  const id = await r.insertBooking(2, `${someDay()}T19:00:00Z`);
  const responses = await Promise.all(
    [1, 2, 3].map(() => postToFunction("assignment-coordinator", { booking_id: id, trigger: "manual" })),
  );
  for (const response of responses) assertEquals(response.status, 200);
  await waitForTerminal(sql, [id]);
  await Promise.all(
    [1, 2, 3].map(() => postToFunction("assignment-coordinator", { booking_id: id, trigger: "manual" })),
  );
  assertEquals(await activeTables(id), ["F1"]);
  const [{ n }] =
    await sql`select count(*)::int as n from public.booking_table_assignments where booking_id = ${id}`;
  assertEquals(n, 1, "no assignment was written and released along the way");
  const [{ outbox }] = await sql`
    select count(*)::int as outbox from public.notification_outbox where booking_id = ${id}`;
  assertEquals(outbox, 1);
  await waitFor(
    "the confirmation to be sent",
    async () =>
      (await sql`select 1 from public.notification_outbox where booking_id = ${id} and status = 'sent'`)
          .length
        ? true
        : undefined,
  );
  await new Promise((r) => setTimeout(r, 300));
  const lines = sinkLines();
  const delivered = lines.filter((l) => l.booking_id === id);
  assertEquals(delivered.length, 1, "exactly one notification delivered");
  const [sent] = await sql<{ attempts: number; dedupe_key: string }[]>`
    select attempts, dedupe_key from public.notification_outbox where booking_id = ${id}`;
  assertEquals(sent.attempts, 1, "the confirmation was claimed and sent once, never retried");
  assertEquals(delivered[0].idempotency_key, sent.dedupe_key, "delivered under the outbox row's key");
  // Every delivery since this file began, whichever test's: a key twice is a message sent twice, unless its send
  // was cut off before its report (a crash another file staged, say), which goes again under its key, as
  // designed, for the mailer to drop.
  const keys = lines.slice(SINK_LINES_BEFORE).map((l) => l.idempotency_key);
  const twice = [...new Set(keys.filter((k, i) => keys.indexOf(k) !== i))];
  const resent = twice.length === 0 ? [] : (await sql<{ dedupe_key: string }[]>`
    select dedupe_key from public.notification_outbox where dedupe_key = any(${twice}) and may_have_arrived`)
    .map((r) => r.dedupe_key);
  assertEquals(
    twice.filter((k) => !resent.includes(k)),
    [],
    "no idempotency key appears twice among everything the sink delivered, but a send cut off before its report",
  );
});

Deno.test("requests without the secret or with a bad body are refused and write nothing", async () => {
  const r = await createRestaurant(sql, { tables: [{ number: "G1", capacity: 2 }] });
  await sql`alter table public.bookings disable trigger dispatch_new_booking`;
  let id: string;
  try {
    id = await r.insertBooking(2, `${someDay()}T19:00:00Z`);
  } finally {
    await sql`alter table public.bookings enable trigger dispatch_new_booking`;
  }
  const counts = async () =>
    (await sql`
      select (select count(*)::int from public.observability_events where booking_id = ${id}) as events,
             (select count(*)::int from public.booking_assignment_state_history where booking_id = ${id}) as history,
             (select assignment_state_version from public.bookings where id = ${id}) as version`)[0];
  const before = await counts();

  const noSecret = await postToFunction("assignment-coordinator", { booking_id: id }, null);
  assertEquals(noSecret.status, 401);
  assertEquals(noSecret.body.error.code, "unauthorized");
  const wrongSecret = await postToFunction("assignment-coordinator", { booking_id: id }, "x".repeat(40));
  assertEquals(wrongSecret.status, 401);
  const notJson = await postToFunction("assignment-coordinator", "{booking", undefined);
  assertEquals(notJson.status, 400);
  assertEquals(notJson.body.error.code, "invalid_json");
  const badId = await postToFunction("assignment-coordinator", { booking_id: "42" });
  assertEquals(badId.status, 400);
  assertEquals(badId.body.error.code, "invalid_body");
  assert(badId.body.error.message.includes("booking_id must be a UUID"), badId.body.error.message);
  const extra = await postToFunction("assignment-coordinator", { booking_id: id, drop_tables: true });
  assertEquals(extra.status, 400);

  assertEquals(await counts(), before, "nothing was written for any refused request");
});

Deno.test("cancelling releases the tables; changing the party size re-assigns them", async () => {
  const r = await createRestaurant(sql, {
    tables: [{ number: "H1", capacity: 2 }, { number: "H2", capacity: 6 }],
  });
  const day = someDay();
  const cancelled = await r.insertBooking(2, `${day}T19:00:00Z`);
  const changed = await r.insertBooking(2, `${day}T21:00:00Z`);
  await waitForTerminal(sql, [cancelled, changed]);
  assertEquals(await activeTables(cancelled), ["H1"]);

  const cancel = await platform.rpc("cancel_booking", {
    p_booking_id: cancelled,
    p_reason: "guest cancelled",
  });
  assertEquals(cancel.error, null);
  assertEquals(await activeTables(cancelled), []);
  const [c] = await sql`select status, assignment_state from public.bookings where id = ${cancelled}`;
  assertEquals([c.status, c.assignment_state], ["cancelled", "cancelled"]);

  assertEquals(await activeTables(changed), ["H1"]);
  await confirmationSent(changed);
  assertEquals((await platform.from("bookings").update({ party_size: 5 }).eq("id", changed)).error, null);
  await waitFor("the changed booking to be confirmed again", async () => {
    const [b] =
      await sql`select assignment_state, assignment_state_version from public.bookings where id = ${changed}`;
    return b.assignment_state === "confirmed" && b.assignment_state_version > 6 ? true : undefined;
  });
  assertEquals(await activeTables(changed), ["H2"]);
  const kinds =
    await sql`select kind from public.notification_outbox where booking_id = ${changed} order by id`;
  assertEquals(kinds.map((k) => k.kind), ["booking_confirmed", "booking_changed"]);
});

Deno.test("changing a confirmed booking's time re-assigns it for the new time", async () => {
  const r = await createRestaurant(sql, {
    tables: [{ number: "J1", capacity: 2 }, { number: "J2", capacity: 4 }],
  });
  const day = someDay();
  const moving = await r.insertBooking(2, `${day}T19:00:00Z`);
  await waitForTerminal(sql, [moving]);
  const later = await r.insertBooking(2, `${day}T21:00:00Z`);
  await waitForTerminal(sql, [later]);
  assertEquals(
    [await activeTables(moving), await activeTables(later)],
    [["J1"], ["J1"]],
    "J1 twice in one evening",
  );

  await confirmationSent(moving);
  const move = await platform.from("bookings").update({ start_at: `${day}T21:00:00Z` }).eq("id", moving);
  assertEquals(move.error, null);
  await waitFor("the moved booking to be confirmed again", async () => {
    const [b] =
      await sql`select assignment_state, assignment_state_version from public.bookings where id = ${moving}`;
    return b.assignment_state === "confirmed" && b.assignment_state_version > 6 ? true : undefined;
  });
  assertEquals(await activeTables(moving), ["J2"], "J1 is taken at 21:00, so it gets J2");
  const [held] = await sql`
    select lower(during) as starts from public.booking_table_assignments
     where booking_id = ${moving} and released_at is null`;
  assertEquals(held.starts.toISOString(), `${day}T21:00:00.000Z`, "held for the new time");
  const [{ released }] = await sql`
    select count(*)::int as released from public.booking_table_assignments
     where booking_id = ${moving} and released_at is not null and lower(during) = ${`${day}T19:00:00Z`}`;
  assertEquals(released, 1, "the 19:00 table was given back");
  const [change] = await sql`
    select reason, metadata from public.booking_assignment_state_history
     where booking_id = ${moving} and from_state = 'confirmed' and to_state = 'assignment_pending'`;
  assert(change.reason.startsWith("booking_changed:"), change.reason);
  assertEquals(change.metadata.start_changed, true);
  const kinds =
    await sql`select kind from public.notification_outbox where booking_id = ${moving} order by id`;
  assertEquals(kinds.map((k) => k.kind), ["booking_confirmed", "booking_changed"]);
});

Deno.test("a whole evening moved in one update is seated again a slot at a time, not one request per booking", async () => {
  const maxParallel = 2;
  const r = await createRestaurant(sql, {
    tables: Array.from({ length: 12 }, (_, i) => ({ number: `M${i + 1}`, capacity: 2 })),
    maxParallel,
  });
  const day = someDay();
  const booking = { restaurant_id: r.id, party_size: 2, start_at: `${day}T19:00:00Z` } as TablesInsert<
    "bookings"
  >;
  const inserted = await platform.from("bookings").insert(Array(12).fill(booking)).select("id");
  assertEquals(inserted.error, null);
  const ids = inserted.data!.map((b) => b.id);
  await waitForTerminal(sql, ids, 20_000);

  // The platform moves the evening by 15 minutes: one statement over the restaurant's twelve bookings.
  const moved = await platform.from("bookings").update({ start_at: `${day}T19:15:00Z` }).eq(
    "restaurant_id",
    r.id,
  );
  assertEquals(moved.error, null);
  await waitFor("every moved booking to be confirmed again", async () => {
    const [{ n }] = await sql<{ n: number }[]>`
      select count(*)::int as n from public.bookings
       where id = any(${ids}::uuid[]) and assignment_state = 'confirmed' and assignment_state_version > 6`;
    return n === ids.length ? true : undefined;
  }, 30_000);
  assertEquals(await overlappingAssignments(r.id), 0);
  // The change's own transaction asked the coordinator for as many as the restaurant has slots (its requests
  // and its history rows carry that transaction's time); the rest waited in the queue for a freed slot.
  const [{ asked, sentBack }] = await sql<{ asked: number; sentBack: number }[]>`
    with change as (
      select min(created_at) as at, count(*)::int as sent_back from public.booking_assignment_state_history
       where booking_id = any(${ids}::uuid[]) and reason like 'booking_changed:%')
    select (select count(*)::int from private.pipeline_requests p, change c
             where p.sent_at = c.at and p.function_name = 'assignment-coordinator') as asked,
           (select sent_back from change) as "sentBack"`;
  assertEquals(sentBack, ids.length, "the change sent every booking back to be planned");
  assertEquals(asked, maxParallel, `the change sent ${asked} requests for ${ids.length} bookings`);
});

Deno.test("a confirmed booking moved outside service hours goes to manual review, not to a table", async () => {
  const r = await createRestaurant(sql, { tables: [{ number: "N1", capacity: 4 }] });
  await sql`insert into public.service_periods (restaurant_id, name, day_of_week, starts_at, ends_at)
            select ${r.id}, 'Dinner', d, '17:00', '23:00' from generate_series(0, 6) d`;
  const day = someDay();
  const id = await r.insertBooking(2, `${day}T19:00:00Z`);
  assertEquals((await waitForTerminal(sql, [id])).get(id), "confirmed");

  await sql`update public.bookings set start_at = ${`${day}T03:00:00Z`} where id = ${id}`;
  await waitFor("the moved booking to reach manual review", async () => {
    const [b] = await sql`select assignment_state from public.bookings where id = ${id}`;
    return b.assignment_state === "manual_review" ? true : undefined;
  });
  const [b] = await sql`select manual_review_reason, status from public.bookings where id = ${id}`;
  assert(
    /^outside_service_hours: 03:00–04:30 local time on \w+ is not inside a service period$/.test(
      b.manual_review_reason,
    ),
    b.manual_review_reason,
  );
  assertEquals(b.status, "pending", "no longer confirmed to the guest");
  assertEquals(await activeTables(id), [], "and holding no table");
  const [e] = await sql`
    select context from public.observability_events
     where booking_id = ${id} and event_type = 'coordinator.manual_review'`;
  assertEquals(e.context.reason, "outside_service_hours");
});

Deno.test("the coordinator's log says which flags it loaded when it started", async () => {
  const loaded = (await Deno.readTextFile(`${LOG_DIR}/functions.log`)).split("\n")
    .filter((line) => line.startsWith("{") && line.includes('"flags loaded"'))
    .map((line) => JSON.parse(line));
  assert(loaded.length > 0, "no flags-loaded line in the functions' log");
  // The stack leaves the flags unset: nothing caps the mode or the limit Postgres decides.
  assertEquals(
    { ...loaded.at(-1), level: undefined },
    {
      level: undefined,
      source: "assignment.coordinator",
      message: "flags loaded",
      mode_ceiling: "none",
      max_parallel_cap: "none",
      strategy: "scarcity_fit",
    },
  );
});

/** A log's text without the table numbers its lines name (`tables`): a restaurant's, not a guest's, though a
 * fuzzed test may give a table and a guest the same string (fast-check likes "toString"). */
function withoutTableNumbers(text: string): string {
  return text.split("\n").map((line) => {
    if (!line.startsWith("{")) return line;
    try {
      const { tables: _, ...rest } = JSON.parse(line);
      return JSON.stringify(rest);
    } catch {
      return line;
    }
  }).join("\n");
}

Deno.test("no personal data reaches events, history, attempts, the outbox or the stack's logs", async () => {
  // Every name, e-mail address and phone number any booking carries, wherever it would leak to.
  const docs = sql`
    select context::text as doc from public.observability_events
    union all select metadata::text || coalesce(reason, '') from public.booking_assignment_state_history
    union all select metadata::text || coalesce(reason, '') from public.booking_assignment_attempts
    union all select payload::text || coalesce(last_error, '') from public.notification_outbox
    union all select coalesce(manual_review_reason, '') from public.bookings`;
  // (Values shorter than 8 characters — a guest called "Al", or the one-letter names other tests send as
  // hostile input — cannot be told apart from ordinary text, so they are left to the pattern scan below.)
  const personal = await sql<{ value: string }[]>`
    select distinct value from public.bookings, unnest(array[customer_name, customer_email, customer_phone]) value
     where char_length(btrim(value)) >= 8`;
  const values = personal.map((p) => p.value);
  for (const fixture of ["Ada Lovelace", "ada@example.com", "+44 20 7946 0958"]) {
    assert(values.includes(fixture), `the earlier tests inserted bookings with ${fixture}`);
  }
  const [{ leaked }] = await sql<{ leaked: number }[]>`
    select count(*)::int as leaked from (${docs}) d
     where exists (select 1 from unnest(${values}::text[]) v where strpos(lower(d.doc), lower(v)) > 0)`;
  assertEquals(leaked, 0, "no booking's personal data appears anywhere");
  // And nothing that looks like anyone's e-mail address or phone number either.
  const [{ lookalikes }] = await sql<{ lookalikes: number }[]>`
    select count(*)::int as lookalikes from (${docs}) d
     where d.doc ~ ${EMAIL_PATTERN} or d.doc ~ ${PHONE_PATTERN}`;
  assertEquals(lookalikes, 0, "no e-mail address or phone number in events, history, attempts or the outbox");

  const logs = [...Deno.readDirSync(LOG_DIR)].filter((e) => e.isFile && e.name.endsWith(".log"));
  assert(logs.some((l) => l.name === "functions.log"), "the functions' log is there to check");
  for (const log of logs) {
    const text = withoutTableNumbers(Deno.readTextFileSync(`${LOG_DIR}/${log.name}`));
    for (const value of values) {
      assert(!text.includes(value), `${log.name} contains a guest's personal data: ${JSON.stringify(value)}`);
    }
    assertEquals(findPersonalData(text), [], `${log.name} contains no e-mail address or phone number`);
  }
  await sql.end();
});
