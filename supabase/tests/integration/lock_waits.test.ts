// The coordinator's calls wait at most 5 s for a lock (20261224000000): a lease waiting behind a restaurant lock
// held elsewhere (an operator's bulk call, a session left open in Studio) gives up, answers busy
// (restaurant_locked) and records the contention, writing nothing of the booking, and the booking is leased as
// soon as the lock is free. Escalated after its dispatches run out, such a booking says the lock held it
// (20261226030000). Real connections play each part; the lease goes through the coordinator's own database
// port.
import { assert, assertEquals } from "../../../shared/testing/assert.ts";
import {
  connect,
  createRestaurant,
  DB_URL,
  holdLock,
  holdOpen,
  holdRestaurantLock,
  localDataApi,
  sendToReview,
  someDay,
  withDispatchPaused,
} from "../../../shared/testing/stack.ts";
import { postgresStore } from "../../../shared/store/postgres.ts";
import { supabaseRestStore } from "../../../shared/store/supabase-rest.ts";
import type { AssignmentStore, FailureKind } from "../../../shared/store/port.ts";

/** The coordinator's two ways to the database: direct SQL, and the Data API as service_role. */
const ports: Record<"postgres" | "rest", () => Promise<AssignmentStore>> = {
  postgres: () => Promise.resolve(postgresStore(DB_URL, { max: 1 })),
  rest: async () => {
    const { standIn } = await localDataApi();
    return supabaseRestStore(standIn.url, standIn.keys.serviceRole);
  },
};

const sql = connect(2);
globalThis.addEventListener("unload", () => void sql.end());

Deno.test("a lease waits at most 5 s behind a restaurant lock held elsewhere, then gives up, saying so, with nothing of the booking written", async () => {
  await withDispatchPaused(sql, async () => {
    const r = await createRestaurant(sql, { tables: [{ number: "W1", capacity: 4 }] });
    const booking = await r.insertBooking(2, `${someDay()}T19:00:00Z`);
    const before = await state(booking);
    const store = postgresStore(DB_URL, { max: 1 });
    const lock = await holdRestaurantLock(sql, r.id);
    try {
      const started = performance.now();
      const answer = await store.begin({ bookingId: booking, trigger: "test" });
      const waited = performance.now() - started;
      assertEquals(answer, { outcome: "busy", reason: "restaurant_locked" }, "the lease answers busy");
      assert(waited >= 4500, `it waited for the lock first (${Math.round(waited)} ms)`);
      assert(waited < 30_000, `and gave up long before a lease would run out (${Math.round(waited)} ms)`);
      assertEquals(await state(booking), before, "nothing of the booking was written");
      const [{ events }] = await sql`
        select array_agg(event_type || ' ' || (context ->> 'lock')) as events from public.observability_events
         where booking_id = ${booking} and event_type like '%lock_contention'`;
      assertEquals(events, ["coordinator.lock_contention restaurant"], "the contention is recorded");
    } finally {
      await lock.release();
    }
    try {
      const lease = await store.begin({ bookingId: booking, trigger: "test" });
      assertEquals(lease.outcome, "ready", "once the lock is free the booking is leased");
      await endLease(store, booking, lease);
    } finally {
      await store.close();
    }
  });
});

for (const port of Object.keys(ports) as (keyof typeof ports)[]) {
  Deno.test(`a lease that waited for the restaurant's lock runs its whole lease_seconds from when it got it, over ${port} (20261231500000)`, async () => {
    await withDispatchPaused(sql, async () => {
      const r = await createRestaurant(sql, { tables: [{ number: "C1", capacity: 4 }] });
      const booking = await r.insertBooking(2, `${someDay()}T19:00:00Z`);
      const [{ seconds }] = await sql<{ seconds: number }[]>`
        select (private.settings_for(${r.id}::uuid)).lease_seconds as seconds`;
      const store = await ports[port]();
      try {
        const lock = await holdRestaurantLock(sql, r.id);
        const answer = store.begin({ bookingId: booking, trigger: "test" });
        await new Promise((resolve) => setTimeout(resolve, 3000));
        await lock.release();
        const lease = await answer;
        assertEquals(lease.outcome, "ready", "once the lock is free the booking is leased");
        const [{ left }] = await sql<{ left: number }[]>`
          select extract(epoch from lease_expires_at - clock_timestamp())::float8 as left
            from public.bookings where id = ${booking}`;
        assert(
          left > seconds - 1,
          `the lease has its ${seconds} s from when the locks were held, not 3 s fewer (${
            left.toFixed(2)
          } s left)`,
        );
        await endLease(store, booking, lease);
      } finally {
        await store.close();
      }
    });
  });
}

Deno.test("a lease never waits for another writing down the function's flags (20261226020000)", async () => {
  await withDispatchPaused(sql, async () => {
    const r = await createRestaurant(sql, { tables: [{ number: "F1", capacity: 4 }] });
    const booking = await r.insertBooking(2, `${someDay()}T19:00:00Z`);
    const store = postgresStore(DB_URL, { max: 1 });
    const writer = connect(1);
    let done = () => {};
    const finished = new Promise<void>((resolve) => (done = resolve));
    let locked = () => {};
    // Another transaction is writing the flags and holds their row until it ends (rolled back: nothing stays).
    let failed = (_: unknown) => {};
    const isLocked = new Promise<void>((resolve, reject) => ((locked = resolve), (failed = reject)));
    const writing = writer.begin(async (tx) => {
      await tx`update private.function_flags set mode_ceiling = 'shadow', changed_at = now()`;
      locked();
      await finished;
      throw new Error("rolled back on purpose");
    }).catch(failed);
    try {
      await isLocked;
      const started = performance.now();
      const lease = await store.begin({ bookingId: booking, trigger: "test", modeCeiling: "legacy" });
      const waited = performance.now() - started;
      assertEquals(
        lease.outcome === "ready" ? lease.mode : lease.outcome,
        "legacy",
        "the lease runs under its own ceiling",
      );
      assert(waited < 2000, `without waiting for the row the other holds (${Math.round(waited)} ms)`);
      await endLease(store, booking, lease);
    } finally {
      done();
      await writing;
      await writer.end();
    }
    // The next lease without a ceiling leaves none behind (what every deployment without the flags reports).
    const after = await r.insertBooking(2, `${someDay()}T21:00:00Z`);
    const lease = await store.begin({ bookingId: after, trigger: "test" });
    await endLease(store, after, lease);
    await store.close();
    const [{ ceiling }] = await sql`select mode_ceiling as ceiling from private.function_flags`;
    assertEquals(ceiling, null, "no ceiling stays behind");
  });
});

Deno.test("a booking whose dispatches ran out while its restaurant's lock was held goes to review saying so", async () => {
  await withDispatchPaused(sql, async () => {
    const r = await createRestaurant(sql, { tables: [{ number: "L1", capacity: 4 }] });
    const held = await r.insertBooking(2, `${someDay()}T19:00:00Z`);
    const silent = await r.insertBooking(2, `${someDay()}T20:00:00Z`);
    // One more whose own lock another call held (an operator's on that booking, say) every other time.
    const taken = await r.insertBooking(2, `${someDay()}T18:00:00Z`);
    const store = postgresStore(DB_URL, { max: 1 });
    const lock = await holdRestaurantLock(sql, r.id);
    try {
      assertEquals((await store.begin({ bookingId: held, trigger: "test" })).outcome, "busy");
    } finally {
      await lock.release();
    }
    const bookingLock = await holdLock(sql, "booking", taken);
    try {
      assertEquals(await store.begin({ bookingId: taken, trigger: "test" }), {
        outcome: "busy",
        reason: "booking_locked",
      });
    } finally {
      await bookingLock.release();
      await store.close();
    }
    // All three out of dispatches. The held one's coordinator was kept out by the lock every other time (its
    // other contentions copied from the real one); the silent one was never answered; the mostly silent one
    // was answered once, and kept out.
    const mostlySilent = await r.insertBooking(2, `${someDay()}T21:00:00Z`);
    await sql`
      insert into public.observability_events (source, event_type, severity, context, restaurant_id, booking_id)
      select e.source, e.event_type, e.severity, e.context, e.restaurant_id, b.id
        from public.observability_events e, (values (${held}::uuid), (${held}), (${held}), (${held}), (${held}),
                                                    (${mostlySilent})) b(id)
       where e.booking_id = ${held} and e.event_type = 'coordinator.lock_contention'`;
    await sql`
      insert into public.observability_events (source, event_type, severity, context, restaurant_id, booking_id)
      select e.source, e.event_type, e.severity, e.context, e.restaurant_id, e.booking_id
        from public.observability_events e, generate_series(1, 5)
       where e.booking_id = ${taken} and e.event_type = 'coordinator.lock_contention'`;
    await sql`update public.bookings set dispatch_count = 12, next_attempt_at = now() - interval '1 second'
               where id in (${held}, ${silent}, ${mostlySilent}, ${taken})`;
    await sql`select private.sweep()`;
    const reasons = await sql<{ id: string; reason: string }[]>`
      select id, manual_review_reason as reason from public.bookings
       where id in (${held}, ${silent}, ${mostlySilent}, ${taken})`;
    const reason = (id: string) => reasons.find((x) => x.id === id)?.reason ?? "";
    assert(
      reason(held).startsWith("restaurant_locked: dispatched 12 times; the coordinator answered 6 of them"),
      `the held one names the lock: ${reason(held)}`,
    );
    assert(
      reason(taken).startsWith(
        "restaurant_locked: dispatched 12 times; the coordinator answered 6 of them",
      ) &&
        reason(taken).includes("or the booking's"),
      `so does the one whose own lock was held: ${reason(taken)}`,
    );
    assert(
      reason(silent).startsWith("coordinator_unreachable:"),
      `the silent one is unreachable: ${reason(silent)}`,
    );
    assert(
      reason(mostlySilent).startsWith("coordinator_unreachable:"),
      `so is one kept out once in twelve: ${reason(mostlySilent)}`,
    );
  });
});

/** Ends a test's lease, if it got one, as a conflict: nothing of the attempt stays behind. */
async function endLease(
  store: AssignmentStore,
  bookingId: string,
  lease: { outcome: string; lease_token?: string },
) {
  if (lease.outcome !== "ready" || !lease.lease_token) return;
  await store.fail({
    bookingId,
    leaseToken: lease.lease_token,
    kind: "conflict",
    reason: "test over",
    durationMs: 1,
    details: {},
  });
}

async function state(booking: string) {
  const [row] = await sql`
    select b.assignment_state, b.assignment_state_version, b.attempt_count,
           (select count(*)::int from public.booking_assignment_state_history h where h.booking_id = b.id) as history
      from public.bookings b where b.id = ${booking}`;
  return row;
}

Deno.test("a sweep waits at most 2 s for a breaker row held elsewhere, and leaves that restaurant's bookings for the next sweep (20261230060000)", async () => {
  await withDispatchPaused(sql, async () => {
    const r = await createRestaurant(sql, {
      tables: [{ number: "B1", capacity: 4 }, { number: "B2", capacity: 4 }],
    });
    const bookings = [
      await r.insertBooking(2, `${someDay()}T19:00:00Z`),
      await r.insertBooking(2, `${someDay()}T20:00:00Z`),
    ];
    const store = postgresStore(DB_URL, { max: 1 });
    try {
      for (const booking of bookings) {
        assertEquals((await store.begin({ bookingId: booking, trigger: "test" })).outcome, "ready");
      }
    } finally {
      await store.close();
    }
    await sql`insert into private.circuit_breakers (restaurant_id) values (${r.id}) on conflict do nothing`;
    // An operator's session left open on the restaurant's breaker row (ops.reset_circuit_breaker, say).
    const { release } = await holdOpen((tx) =>
      tx`select 1 from private.circuit_breakers where restaurant_id = ${r.id} for update`
    );
    let swept: { skipped_locked: number } | undefined;
    let waited = Infinity;
    try {
      const started = performance.now();
      [{ swept }] = await sql.begin(async (tx) => {
        await tx`set local statement_timeout = '10s'`;
        return await tx`select private.sweep(now() + interval '31 seconds') as swept`;
      });
      waited = performance.now() - started;
    } finally {
      await release();
    }
    assert(
      waited < 4_000,
      `the sweep gave up on the row instead of waiting for it (${Math.round(waited)} ms)`,
    );
    assertEquals(
      swept?.skipped_locked,
      2,
      "and counted both as left for the next sweep, the second not waited for",
    );
    assertEquals(
      await Promise.all(bookings.map(stateOf)),
      ["assignment_in_progress", "assignment_in_progress"],
      "neither is sent to review for a lock",
    );
    await sql`select private.sweep(now() + interval '31 seconds')`;
    assertEquals(
      await Promise.all(bookings.map(stateOf)),
      ["assignment_pending", "assignment_pending"],
      "the next sweep, the row free, expires their leases",
    );
  });
});

async function stateOf(booking: string): Promise<string> {
  const [{ assignment_state }] =
    await sql`select assignment_state from public.bookings where id = ${booking}`;
  return assignment_state;
}

Deno.test("an operator's call waits at most 5 s behind a restaurant lock held elsewhere, then fails with 55P03, writing nothing (20261231060000)", async () => {
  await withDispatchPaused(sql, async () => {
    const r = await createRestaurant(sql, { tables: [{ number: "O1", capacity: 4 }] });
    const booking = await r.insertBooking(2, `${someDay()}T19:00:00Z`);
    const store = postgresStore(DB_URL, { max: 1 });
    try {
      await sendToReview(store, booking);
    } finally {
      await store.close();
    }
    const before = await state(booking);
    // The operator, as the Data API's role runs the call (Studio's postgres gets the same limit: it is the
    // function's own).
    const assign = () =>
      sql.begin(async (tx) => {
        await tx`set local role service_role`;
        return await tx`select ops.assign_tables(${booking}, array['O1'], 'ana', 'guest called') as r`;
      });
    const lock = await holdRestaurantLock(sql, r.id);
    try {
      const started = performance.now();
      const error = await assign().then(() => undefined, (e) => e as { code?: string; message?: string });
      const waited = performance.now() - started;
      assertEquals(
        [error?.code, error?.message],
        ["55P03", "canceling statement due to lock timeout"],
        "the call gives up on the lock",
      );
      assert(waited >= 4500, `it waited for the lock first (${Math.round(waited)} ms)`);
      assert(waited < 15_000, `and no longer than its limit (${Math.round(waited)} ms)`);
      assertEquals(await state(booking), before, "nothing of the booking was written");
    } finally {
      await lock.release();
    }
    await assign();
    assertEquals(
      (await state(booking)).assignment_state,
      "confirmed",
      "run again once the lock is free, it seats",
    );
  });
});

Deno.test("an attempt a lock held elsewhere kept from ending is no failure of the restaurant's pipeline: a half-open breaker's probe is handed on, not reopened (20261231490000)", async () => {
  await withDispatchPaused(sql, async () => {
    const opened = new Date(Date.now() - 60_000).toISOString();
    const probing = (restaurant: string, booking: string) =>
      sql`
        insert into private.circuit_breakers (restaurant_id, state, opened_at, probe_booking_id, probe_started_at)
        values (${restaurant}, 'half_open', ${opened}, ${booking}, now())
        on conflict (restaurant_id) do update
          set state = 'half_open', opened_at = ${opened}, probe_booking_id = ${booking}, probe_started_at = now()`;
    const breakerOf = async (restaurant: string) => {
      const [breaker] = await sql`
        select state, opened_at = ${opened}::timestamptz as same_opening, probe_booking_id from private.circuit_breakers
         where restaurant_id = ${restaurant}`;
      return breaker;
    };
    const lastReason = async (booking: string) => {
      const [{ reason }] = await sql`
        select reason from public.booking_assignment_state_history where booking_id = ${booking}
         order by version desc limit 1`;
      return reason as string;
    };
    const sweepAfterTheLease = () => sql`select private.sweep(now() + interval '31 seconds')`;

    const ended = async (kind: FailureKind, port: keyof typeof ports) => {
      const r = await createRestaurant(sql, { tables: [{ number: "H1", capacity: 4 }] });
      const booking = await r.insertBooking(2, `${someDay()}T19:00:00Z`);
      const store = await ports[port]();
      try {
        const lease = await store.begin({ bookingId: booking, trigger: "test" });
        if (lease.outcome !== "ready") throw new Error(`not leased: ${lease.outcome}`);
        // The breaker had opened and this booking is its probe.
        await probing(r.id, booking);
        // The commit lost its wait for the restaurant's lock (an operator's transaction left open), and so
        // does the call that ends the attempt.
        const lock = await holdRestaurantLock(sql, r.id);
        try {
          const started = performance.now();
          const answer = await store.fail({
            bookingId: booking,
            leaseToken: lease.lease_token,
            kind,
            reason: "conflict: canceling statement due to lock timeout",
            durationMs: 5_000,
            details: {},
          });
          assert(performance.now() - started >= 4_500, "it waited for the lock first");
          assertEquals(answer, { outcome: "lease_lost" }, "the call answers that it decides nothing more");
        } finally {
          await lock.release();
        }
        const [{ events }] = await sql`
          select array_agg((context ->> 'lock') || ' ' || (context ->> 'during') || ' ' || (context ->> 'kind')) as events
            from public.observability_events where booking_id = ${booking} and event_type = 'coordinator.lock_contention'`;
        assertEquals(events, [`restaurant fail ${kind}`], "and records the contention");
        assertEquals(await stateOf(booking), "assignment_in_progress", "the lease is left to run out");
      } finally {
        await store.close();
      }
      await sweepAfterTheLease();
      return { restaurant: r.id, booking, state: await stateOf(booking), breaker: await breakerOf(r.id) };
    };

    // The conflict through the Data API as service_role, the error over direct SQL: the coordinator's two ports.
    // Nothing fitting and the booking's own bad data are no failure of the restaurant either.
    const noFailure = async (kind: FailureKind, port: keyof typeof ports) => {
      const outcome = await ended(kind, port);
      assertEquals(
        outcome.state,
        "assignment_pending",
        `the sweeper ends the ${kind} attempt once its lease runs out`,
      );
      const reason = await lastReason(outcome.booking);
      assert(reason.startsWith(`restaurant_locked: the attempt ended (${kind})`), reason);
      assertEquals(
        outcome.breaker,
        { state: "half_open", same_opening: true, probe_booking_id: null },
        `after a ${kind}, the breaker stays half-open with its opening as it was, and the probe is handed on`,
      );
      return outcome;
    };
    const conflict = await noFailure("conflict", "rest");
    await noFailure("no_fit", "postgres");
    await noFailure("invalid_data", "rest");

    // The booking's next attempt, whose worker stops answering, is counted: the word was of the attempt before.
    const store = postgresStore(DB_URL, { max: 1 });
    try {
      assertEquals((await store.begin({ bookingId: conflict.booking, trigger: "test" })).outcome, "ready");
    } finally {
      await store.close();
    }
    await probing(conflict.restaurant, conflict.booking);
    await sweepAfterTheLease();
    assert((await lastReason(conflict.booking)).startsWith("lease_expired:"));
    assertEquals((await breakerOf(conflict.restaurant)).state, "open", "its expiry reopens the breaker");

    const error = await ended("error", "postgres");
    assertEquals(error.state, "assignment_pending");
    assert((await lastReason(error.booking)).startsWith("lease_expired:"));
    assertEquals(
      error.breaker.state,
      "open",
      "an error that could not say so still counts: the breaker opens again",
    );
  });
});

for (const port of ["postgres", "rest"] as const) {
  Deno.test(`an attempt's report behind a session holding the booking's row answers lease_lost instead of failing, over ${port} (20261231490000)`, async () => {
    await withDispatchPaused(sql, async () => {
      const r = await createRestaurant(sql, { tables: [{ number: "R1", capacity: 4 }] });
      const booking = await r.insertBooking(2, `${someDay()}T19:00:00Z`);
      const store = await ports[port]();
      try {
        const lease = await store.begin({ bookingId: booking, trigger: "test" });
        if (lease.outcome !== "ready") throw new Error(`not leased: ${lease.outcome}`);
        // An operator's session in Studio: select … for update on the booking, left open.
        const { release } = await holdOpen((tx) =>
          tx`select 1 from public.bookings where id = ${booking} for update`
        );
        try {
          const started = performance.now();
          const answer = await store.fail({
            bookingId: booking,
            leaseToken: lease.lease_token,
            kind: "conflict",
            reason: "conflict: canceling statement due to lock timeout",
            durationMs: 5_000,
            details: {},
          });
          const waited = performance.now() - started;
          assertEquals(answer, { outcome: "lease_lost" });
          assert(
            waited < 8_000,
            `the word it could not leave was waited for briefly (${Math.round(waited)} ms)`,
          );
        } finally {
          await release();
        }
        assertEquals(await stateOf(booking), "assignment_in_progress", "the lease is left to run out");
        const [{ count }] = await sql`
        select count(*)::int from public.observability_events
         where booking_id = ${booking} and event_type = 'coordinator.lock_contention'`;
        assertEquals(
          count,
          0,
          "and its word, which waited on the same row, is left unsaid: the expiry will count",
        );
      } finally {
        await store.close();
      }
    });
  });
}
