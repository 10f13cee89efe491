// The coordinator RPCs driven directly over several real connections, the way concurrent function
// instances call them: the shared concurrency limit, the shared circuit breaker, lease expiry and the
// lock order every writer follows.
// Dispatch to the coordinator function is paused (its URL taken out of Vault) while each test runs, so
// neither the insert trigger nor the sweeper's retries move these bookings: only the test does.
import { assert, assertEquals } from "../../../shared/testing/assert.ts";
import {
  connect,
  createRestaurant,
  holdRestaurantLock,
  localDataApi,
  someDay,
  waitFor,
  withDispatchPaused as pauseDispatch,
} from "../../../shared/testing/stack.ts";
import { snapshotSchema } from "../../../shared/domain/snapshot.ts";
import { postgresStore } from "../../../shared/store/postgres.ts";
import { supabaseRestStore } from "../../../shared/store/supabase-rest.ts";
import type { AssignmentStore } from "../../../shared/store/port.ts";
import type { LeaseResult } from "../../../shared/store/results.ts";
import { DB_URL } from "../../../shared/testing/stack.ts";

const sql = connect(4);

/** The first usable table of the snapshot read under a lease just taken, as the coordinator reads it. */
async function firstTable(store: AssignmentStore, bookingId: string, begun: LeaseResult): Promise<string> {
  assert(begun.outcome === "ready");
  const read = await store.snapshot({ bookingId, leaseToken: begun.lease_token });
  assert(read.outcome === "ready", `the lease's snapshot: ${read.outcome}`);
  return snapshotSchema.parse(read.snapshot).tables[0].id;
}

function withDispatchPaused(name: string, body: () => Promise<void>): void {
  Deno.test(name, () => pauseDispatch(sql, body));
}

async function quietBookings(restaurantId: string, count: number, partySize = 2): Promise<string[]> {
  const day = someDay();
  const rows = await sql<{ id: string }[]>`
    insert into public.bookings (restaurant_id, party_size, start_at)
    select ${restaurantId}, ${partySize}, ${day}::date + time '19:00' + make_interval(mins => 15 * g)
      from generate_series(1, ${count}) g
    returning id`;
  return rows.map((r) => r.id);
}

withDispatchPaused(
  "the concurrency limit holds across instances: the fourth begin is rate limited, not failed",
  async () => {
    const r = await createRestaurant(sql, {
      tables: Array.from({ length: 6 }, (_, i) => ({ number: `P${i}`, capacity: 2 })),
    });
    const ids = await quietBookings(r.id, 5);
    const instances = Array.from({ length: 5 }, () => postgresStore(DB_URL, { max: 1 }));
    try {
      const results = await Promise.all(
        instances.map((store, i) => store.begin({ bookingId: ids[i], trigger: "test" })),
      );
      const ready = results.filter((x) => x.outcome === "ready");
      const limited = results.filter((x) => x.outcome === "rate_limited");
      assertEquals(ready.length, 3, "three bookings run (the default max_parallel)");
      assertEquals(limited.length, 2, "the rest are told to come back");
      const [{ pending }] = await sql`
      select count(*)::int as pending from public.bookings
       where id = any(${ids}::uuid[]) and assignment_state = 'assignment_pending' and next_attempt_at is not null`;
      assertEquals(pending, 2, "rate-limited bookings wait in the queue with a due time");
      const [{ errors }] = await sql`
      select count(*)::int as errors from public.booking_assignment_attempts where booking_id = any(${ids}::uuid[])`;
      assertEquals(errors, 0, "rate limiting is not an attempt");

      // A finished run frees its slot for the next one.
      const first = results.find((x) => x.outcome === "ready")!;
      const firstId = ids[results.indexOf(first)];
      assert(first.outcome === "ready");
      const done = await instances[0].commit({
        bookingId: firstId,
        leaseToken: first.lease_token,
        tableIds: [await firstTable(instances[0], firstId, first)],
        strategy: "optimal_fit",
        durationMs: 5,
        metadata: {},
      });
      assertEquals(done.outcome, "confirmed");
      const waiting = ids[results.findIndex((x) => x.outcome === "rate_limited")];
      assertEquals((await instances[4].begin({ bookingId: waiting, trigger: "test" })).outcome, "ready");
    } finally {
      await Promise.all(instances.map((s) => s.close()));
    }
  },
);

withDispatchPaused(
  "the circuit breaker opens after five errors from any instances, then a probe closes it",
  async () => {
    const r = await createRestaurant(sql, {
      tables: [{ number: "Q1", capacity: 4 }, { number: "Q2", capacity: 4 }],
    });
    const ids = await quietBookings(r.id, 8);
    const a = postgresStore(DB_URL, { max: 1 });
    const b = postgresStore(DB_URL, { max: 1 });
    try {
      for (let i = 0; i < 5; i++) {
        const store = i % 2 ? a : b; // errors reported by two different instances count together
        const begun = await store.begin({ bookingId: ids[i], trigger: "test" });
        assertEquals(begun.outcome, "ready", `booking ${i} may run while the breaker is closed`);
        assert(begun.outcome === "ready");
        const failed = await store.fail({
          bookingId: ids[i],
          leaseToken: begun.lease_token,
          kind: "error",
          reason: "error: injected failure",
          durationMs: 1,
          details: {},
        });
        assertEquals(failed.outcome, "retry", "an error is retried, not escalated, on the first attempt");
      }
      const [breaker] =
        await sql`select state, consecutive_failures from private.circuit_breakers where restaurant_id = ${r.id}`;
      assertEquals([breaker.state, breaker.consecutive_failures], ["open", 5]);

      const blocked = await a.begin({ bookingId: ids[5], trigger: "test" });
      assertEquals(blocked.outcome, "circuit_open");
      assert(blocked.outcome === "circuit_open" && blocked.delay_ms > 0 && blocked.delay_ms <= 15_000);

      // After the cooldown one probe runs; everyone else keeps waiting until it reports.
      await sql`update private.circuit_breakers set opened_at = now() - interval '16 seconds' where restaurant_id = ${r.id}`;
      const probe = await a.begin({ bookingId: ids[5], trigger: "test" });
      assertEquals(probe.outcome, "ready");
      assertEquals((await b.begin({ bookingId: ids[6], trigger: "test" })).outcome, "circuit_open");
      assert(probe.outcome === "ready");
      const committed = await a.commit({
        bookingId: ids[5],
        leaseToken: probe.lease_token,
        tableIds: [await firstTable(a, ids[5], probe)],
        strategy: "optimal_fit",
        durationMs: 3,
        metadata: {},
      });
      assertEquals(committed.outcome, "confirmed");
      const [closed] =
        await sql`select state, consecutive_failures from private.circuit_breakers where restaurant_id = ${r.id}`;
      assertEquals([closed.state, closed.consecutive_failures], ["closed", 0]);
      assertEquals((await b.begin({ bookingId: ids[6], trigger: "test" })).outcome, "ready");

      const events = await sql<{ event_type: string }[]>`
      select event_type from public.observability_events
       where restaurant_id = ${r.id} and event_type like 'coordinator.circuit%' order by id`;
      assertEquals(events.map((e) => e.event_type), [
        "coordinator.circuit_opened",
        "coordinator.circuit_open",
        "coordinator.circuit_half_open",
        "coordinator.circuit_open",
        "coordinator.circuit_closed",
      ]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  },
);

withDispatchPaused(
  "six instances on the Data API released at once behind the restaurant lock: exactly max_parallel run",
  async () => {
    // As service_role through the Data API, all six waiting on the lock before any of them runs, so the limit
    // is raced for real rather than by whichever request happens to arrive first.
    const r = await createRestaurant(sql, {
      tables: Array.from({ length: 8 }, (_, i) => ({ number: `L${i}`, capacity: 2 })),
    });
    const ids = await quietBookings(r.id, 6);
    const { standIn } = await localDataApi();
    const instances = Array.from(
      { length: 6 },
      () => supabaseRestStore(standIn.url, standIn.keys.serviceRole),
    );
    // Six connections open before the lock is taken (a lease of an unknown booking takes no lock), so none of
    // the begins spends its 5 s lock wait on connecting while the others queue.
    const warm = await Promise.all(
      instances.map((store) => store.begin({ bookingId: crypto.randomUUID(), trigger: "test" })),
    );
    assertEquals(warm.map((w) => w.outcome), Array(6).fill("noop"));
    const lock = await holdRestaurantLock(sql, r.id);
    let begun: Awaited<ReturnType<AssignmentStore["begin"]>>[];
    try {
      const racing = Promise.all(
        instances.map((store, i) => store.begin({ bookingId: ids[i], trigger: "test" })),
      );
      await waitersOnRestaurantLock(r.id, 6);
      await lock.release();
      begun = await racing;
    } finally {
      await lock.release();
    }
    assertEquals(
      begun.map((b) => b.outcome).sort(),
      ["rate_limited", "rate_limited", "rate_limited", "ready", "ready", "ready"],
      "three run (the default max_parallel), three are told to come back",
    );
    const [{ running }] = await sql`
      select count(*)::int as running from public.bookings
       where restaurant_id = ${r.id} and assignment_state = 'assignment_in_progress'`;
    assertEquals(running, 3, "and three are in progress");
    await Promise.all(begun.map((b, i) =>
      b.outcome === "ready"
        ? instances[i].fail({
          bookingId: ids[i],
          leaseToken: b.lease_token,
          kind: "conflict",
          reason: "test over",
          durationMs: 1,
          details: {},
        })
        : null
    ));
  },
);

withDispatchPaused(
  "errors reported at once by instances on the Data API all count, the breaker opens once, and one probe runs",
  async () => {
    // Six instances as the coordinator's REST port calls Postgres (supabase-js, service_role), five failing
    // their bookings at the same moment: no failure may be lost to a race on the breaker's row.
    const r = await createRestaurant(sql, {
      tables: Array.from({ length: 8 }, (_, i) => ({ number: `C${i}`, capacity: 2 })),
      maxParallel: 8,
    });
    const ids = await quietBookings(r.id, 10);
    const { standIn } = await localDataApi();
    const served = standIn.requests.length;
    const instances = Array.from(
      { length: 6 },
      () => supabaseRestStore(standIn.url, standIn.keys.serviceRole),
    );
    const begun = await Promise.all(
      instances.map((store, i) => store.begin({ bookingId: ids[i], trigger: "test" })),
    );
    assertEquals(
      begun.map((b) => b.outcome),
      Array(6).fill("ready"),
      "six run at once under a limit of eight",
    );
    // Five at once, the breaker's threshold: it opens only if none is lost. The sixth reports after it opened,
    // from an attempt let in before: not counted (20261224010000).
    const failNow = (i: number) => {
      const lease = begun[i];
      assert(lease.outcome === "ready");
      return instances[i].fail({
        bookingId: ids[i],
        leaseToken: lease.lease_token,
        kind: "error",
        reason: "error: injected failure",
        durationMs: 1,
        details: {},
      });
    };
    const failed = await Promise.all([0, 1, 2, 3, 4].map(failNow));
    assertEquals(failed.map((f) => f.outcome), Array(5).fill("retry"));
    const breakerNow = async () =>
      (await sql`select state, consecutive_failures from private.circuit_breakers where restaurant_id = ${r.id}`)
        .map((b) => [b.state, b.consecutive_failures])[0];
    assertEquals(await breakerNow(), ["open", 5], "every failure counted");
    assertEquals((await failNow(5)).outcome, "retry");
    assertEquals(
      await breakerNow(),
      ["open", 5],
      "a failure of an attempt begun before it opened is not counted",
    );

    // After the cooldown, four instances begin at once: one probe runs, the others wait for its report.
    await sql`update private.circuit_breakers set opened_at = now() - interval '16 seconds' where restaurant_id = ${r.id}`;
    const probes = await Promise.all(
      instances.slice(0, 4).map((store, i) => store.begin({ bookingId: ids[6 + i], trigger: "test" })),
    );
    assertEquals(
      probes.map((p) => p.outcome).sort(),
      ["circuit_open", "circuit_open", "circuit_open", "ready"],
      "exactly one probe",
    );
    const events = await sql<{ event_type: string; n: number }[]>`
      select event_type, count(*)::int as n from public.observability_events
       where restaurant_id = ${r.id} and event_type in ('coordinator.circuit_opened', 'coordinator.circuit_half_open')
       group by event_type order by event_type`;
    assertEquals(events.map((e) => [e.event_type, e.n]), [
      ["coordinator.circuit_half_open", 1],
      ["coordinator.circuit_opened", 1],
    ]);
    const failures = standIn.requests.slice(served).filter((q) => q.route === "rpc/assignment_fail");
    assertEquals(
      failures.map((q) => q.role),
      Array(6).fill("service_role"),
      "failures went through the Data API",
    );

    // The probe reports success and closes the breaker, so the restaurant's bookings go on.
    const probing = probes.findIndex((p) => p.outcome === "ready");
    const probe = probes[probing];
    assert(probe.outcome === "ready");
    const store = instances[probing];
    const closed = await store.commit({
      bookingId: ids[6 + probing],
      leaseToken: probe.lease_token,
      tableIds: [await firstTable(store, ids[6 + probing], probe)],
      strategy: "optimal_fit",
      durationMs: 1,
      metadata: {},
    });
    assertEquals(closed.outcome, "confirmed");
    const [after] = await sql`select state from private.circuit_breakers where restaurant_id = ${r.id}`;
    assertEquals(after.state, "closed");
  },
);

withDispatchPaused("'no table fits' and rate limiting never trip the breaker", async () => {
  const r = await createRestaurant(sql, { tables: [{ number: "R1", capacity: 2 }], maxParallel: 1 });
  const ids = await quietBookings(r.id, 6);
  const store = postgresStore(DB_URL, { max: 1 });
  const breaker = async () => {
    const rows = await sql<{ state: string; consecutive_failures: number }[]>`
      select state, consecutive_failures from private.circuit_breakers where restaurant_id = ${r.id}`;
    return rows.length === 0 ? ["closed", 0] : [rows[0].state, rows[0].consecutive_failures];
  };
  try {
    // One booking holds the restaurant's only slot; the other five are turned away twice each, ten
    // rate-limited begins in all, twice the breaker's threshold of five.
    const holder = await store.begin({ bookingId: ids[0], trigger: "test" });
    assert(holder.outcome === "ready");
    const outcomes: string[] = [];
    for (let round = 0; round < 2; round++) {
      for (const id of ids.slice(1)) {
        outcomes.push((await store.begin({ bookingId: id, trigger: "test" })).outcome);
      }
    }
    assertEquals(outcomes, Array(10).fill("rate_limited"));
    const [{ limited }] = await sql`
      select count(*)::int as limited from public.observability_events
       where booking_id = any(${ids}::uuid[]) and event_type = 'coordinator.retry' and context ->> 'reason' = 'rate_limited'`;
    assertEquals(limited, 10, "each deferral is recorded as a rate_limited retry");
    assertEquals(await breaker(), ["closed", 0], "rate limiting left the breaker closed");

    // Then every booking runs and finds no table: six no-fit endings, more than the threshold too.
    const leases = new Map([[ids[0], holder.lease_token]]);
    for (const id of ids) {
      if (!leases.has(id)) {
        const begun = await store.begin({ bookingId: id, trigger: "test" });
        assert(begun.outcome === "ready");
        leases.set(id, begun.lease_token);
      }
      const failed = await store.fail({
        bookingId: id,
        leaseToken: leases.get(id)!,
        kind: "no_fit",
        reason: "no_table_fits: test",
        durationMs: 1,
        details: {},
      });
      assertEquals(failed.outcome, "manual_review", "no_fit goes straight to an operator by default");
    }
    assertEquals(await breaker(), ["closed", 0], "no_fit left the breaker closed");
  } finally {
    await store.close();
  }
});

withDispatchPaused(
  "every writer takes the restaurant lock before any booking lock, so none can deadlock",
  async () => {
    const r = await createRestaurant(sql, {
      tables: [{ number: "L1", capacity: 2 }, { number: "L2", capacity: 2 }, { number: "L3", capacity: 4 }],
    });
    await sql`select ops.set_reoptimization(true, 'test', ${r.id})`;
    const [moving, placed, other] = await quietBookings(r.id, 3);
    const store = postgresStore(DB_URL, { max: 1 });
    const blocker = connect(1);
    const writers = [connect(1), connect(1), connect(1)];
    let release = () => {};
    try {
      // `placed` sits on L1; `moving` is being assigned and wants L1, moving `placed` to L3.
      const first = await store.begin({ bookingId: placed, trigger: "test" });
      assert(first.outcome === "ready");
      const l1 = r.tableIds.get("L1")!;
      assertEquals(
        (await store.commit({
          bookingId: placed,
          leaseToken: first.lease_token,
          tableIds: [l1],
          strategy: "test",
          durationMs: 1,
          metadata: {},
        })).outcome,
        "confirmed",
      );
      const begun = await store.begin({ bookingId: moving, trigger: "test" });
      assert(begun.outcome === "ready");
      const moves = [{ booking_id: placed, from_table_ids: [l1], to_table_ids: [r.tableIds.get("L3")!] }];

      // Hold the restaurant lock, then start three writers that all need it: an operator re-seating
      // `placed`, a re-optimising commit that moves `placed`, and a begin.
      const [{ key }] = await sql<{ key: string }[]>`
        select private.lock_key('restaurant', ${r.id})::text as key`;
      const held = new Promise<void>((resolve) => (release = resolve));
      let locked!: () => void;
      const isLocked = new Promise<void>((resolve) => (locked = resolve));
      const holding = blocker.begin(async (tx) => {
        await tx`select pg_advisory_xact_lock(${key}::bigint)`;
        locked();
        await held;
      });
      await isLocked;
      const results = Promise.allSettled([
        writers[0]`select ops.assign_tables(${placed}, array['L2'], 'ana') as r`,
        writers[
          1
        ]`select public.assignment_commit(${moving}, ${begun.lease_token}, array[${l1}]::uuid[], 'test',
                     1, '{}'::jsonb, null, ${sql.json(moves)}) as r`,
        writers[2]`select public.assignment_begin(${other}, 'test') as r`,
      ]);
      await waitFor("the three writers to queue for the restaurant lock", async () => {
        const [{ waiting }] = await sql<{ waiting: number }[]>`
          select count(*)::int as waiting from pg_locks
           where locktype = 'advisory' and not granted and objsubid = 1
             and classid = ((${key}::bigint >> 32) & 4294967295)::oid and objid = (${key}::bigint & 4294967295)::oid`;
        return waiting === 3 ? true : undefined;
      });
      // While they wait, none of them holds a booking's row or advisory lock.
      const [probe] = await sql.begin(async (tx) => {
        const rows = await tx`select id from public.bookings where id = any(${[
          moving,
          placed,
          other,
        ]}::uuid[])
                              for update nowait`;
        const [{ free }] = await tx`
          select bool_and(pg_try_advisory_xact_lock(private.lock_key('booking', b))) as free
            from unnest(${[moving, placed, other]}::uuid[]) b`;
        return [{ rows: rows.length, free }];
      });
      assertEquals(probe, { rows: 3, free: true }, "waiting writers hold no booking locks");

      release();
      await holding;
      const settled = await results;
      assertEquals(
        settled.map((s) => s.status),
        ["fulfilled", "fulfilled", "fulfilled"],
        "no deadlock, no error",
      );
      const [b] = await sql`select assignment_state from public.bookings where id = ${other}`;
      assertEquals(b.assignment_state, "assignment_in_progress");
    } finally {
      release();
      await Promise.all([store.close(), blocker.end(), ...writers.map((w) => w.end())]);
    }
  },
);

withDispatchPaused("a booking locked by someone else is turned away as lock contention", async () => {
  const r = await createRestaurant(sql, { tables: [{ number: "W1", capacity: 2 }] });
  const [id] = await quietBookings(r.id, 1);
  const store = postgresStore(DB_URL, { max: 1 });
  const holder = connect(1);
  let release = () => {};
  try {
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holding = holder.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(private.lock_key('booking', ${id}::uuid))`;
      locked();
      await held;
    });
    await isLocked;
    assertEquals(await store.begin({ bookingId: id, trigger: "test" }), {
      outcome: "busy",
      reason: "booking_locked",
    });
    release();
    await holding;
    const [e] = await sql`
      select context from public.observability_events
       where booking_id = ${id} and event_type = 'coordinator.lock_contention'`;
    assertEquals([e.context.lock, e.context.trigger], ["booking", "test"]);
    assertEquals(
      (await store.begin({ bookingId: id, trigger: "test" })).outcome,
      "ready",
      "it runs once released",
    );
  } finally {
    release();
    await Promise.all([store.close(), holder.end()]);
  }
});

withDispatchPaused(
  "a crashed worker's lease expires and the sweeper puts the booking back in the queue",
  async () => {
    const r = await createRestaurant(sql, { tables: [{ number: "S1", capacity: 2 }] });
    const [id] = await quietBookings(r.id, 1);
    const store = postgresStore(DB_URL, { max: 1 });
    try {
      const begun = await store.begin({ bookingId: id, trigger: "test" });
      assert(begun.outcome === "ready");
      const table = await firstTable(store, id, begun);
      // The worker "crashes" here. A second dispatch while the lease is live is turned away.
      assertEquals((await store.begin({ bookingId: id, trigger: "test" })).outcome, "busy");

      await sql`select private.sweep(now() + interval '31 seconds')`;
      const [b] = await sql`
      select assignment_state, lease_token, next_attempt_at > now() as later from public.bookings where id = ${id}`;
      assertEquals([b.assignment_state, b.lease_token, b.later], ["assignment_pending", null, true]);
      const [attempt] =
        await sql`select result, reason from public.booking_assignment_attempts where booking_id = ${id}`;
      assertEquals(attempt.result, "error");
      assert(attempt.reason.startsWith("lease_expired"), attempt.reason);

      // The dead worker's late commit is refused; a fresh attempt succeeds.
      const late = await store.commit({
        bookingId: id,
        leaseToken: begun.lease_token,
        tableIds: [table],
        strategy: "optimal_fit",
        durationMs: 1,
        metadata: {},
      });
      assertEquals(late.outcome, "lease_lost");
      const again = await store.begin({ bookingId: id, trigger: "test" });
      assertEquals(again.outcome === "ready" && again.attempt, 2);
    } finally {
      await store.close();
    }
  },
);

withDispatchPaused(
  "a booking that fails every attempt ends in manual review after max_attempts",
  async () => {
    const r = await createRestaurant(sql, { tables: [{ number: "U1", capacity: 2 }] });
    const [id] = await quietBookings(r.id, 1);
    const store = postgresStore(DB_URL, { max: 1 });
    try {
      const outcomes: string[] = [];
      for (let i = 0; i < 5; i++) {
        const begun = await store.begin({ bookingId: id, trigger: "test" });
        assert(begun.outcome === "ready", `attempt ${i + 1} starts`);
        outcomes.push(
          (await store.fail({
            bookingId: id,
            leaseToken: begun.lease_token,
            kind: "conflict",
            reason: "conflict: test",
            durationMs: 1,
            details: {},
          })).outcome,
        );
      }
      assertEquals(outcomes, ["retry", "retry", "retry", "retry", "manual_review"]);
      const [b] = await sql`select manual_review_reason from public.bookings where id = ${id}`;
      assert(
        b.manual_review_reason.startsWith("attempts_exhausted: 5 attempts failed"),
        b.manual_review_reason,
      );
      const delays = await sql<{ delay: number }[]>`
      select (context ->> 'delay_ms')::int as delay from public.observability_events
       where booking_id = ${id} and event_type = 'coordinator.retry' order by id`;
      assertEquals(delays.length, 4);
      for (let i = 0; i < 4; i++) {
        const base = 1000 * 2 ** i;
        assert(
          delays[i].delay >= base && delays[i].delay < base + 1000,
          `retry ${i + 1} backs off exponentially`,
        );
      }
    } finally {
      await store.close();
    }
  },
);

/** Resolves once `count` sessions wait for the restaurant's lock (in any mode). */
async function waitersOnRestaurantLock(restaurantId: string, count: number): Promise<void> {
  const [{ key }] = await sql<
    { key: string }[]
  >`select private.lock_key('restaurant', ${restaurantId})::text as key`;
  await waitFor(`${count} sessions to wait for the restaurant lock`, async () => {
    const [{ waiting }] = await sql<{ waiting: number }[]>`
      select count(*)::int as waiting from pg_locks
       where locktype = 'advisory' and not granted and objsubid = 1
         and classid = ((${key}::bigint >> 32) & 4294967295)::oid and objid = (${key}::bigint & 4294967295)::oid`;
    return waiting === count ? true : undefined;
  });
}

withDispatchPaused(
  "a begin racing an attempt that fails waits for it and runs, instead of queueing beside a free slot",
  async () => {
    const r = await createRestaurant(sql, { tables: [{ number: "F1", capacity: 2 }], maxParallel: 1 });
    const [holder, next] = await quietBookings(r.id, 2);
    const store = postgresStore(DB_URL, { max: 1 });
    const failing = connect(1);
    let commit = () => {};
    try {
      const begun = await store.begin({ bookingId: holder, trigger: "test" });
      assert(begun.outcome === "ready");
      // The attempt holding the only slot fails in a transaction that stays open: its wake has already run.
      const open = new Promise<void>((resolve) => (commit = resolve));
      let failed!: () => void;
      const hasFailed = new Promise<void>((resolve) => (failed = resolve));
      const transaction = failing.begin(async (tx) => {
        await tx`select public.assignment_fail(${holder}, ${begun.lease_token}, 'no_fit', 'no_table_fits: test')`;
        failed();
        await open;
      });
      await hasFailed;
      const beginning = store.begin({ bookingId: next, trigger: "test" });
      await waitersOnRestaurantLock(r.id, 1);
      commit();
      await transaction;
      assertEquals((await beginning).outcome, "ready", "it counted the slot the failed attempt left");
    } finally {
      commit();
      await Promise.all([store.close(), failing.end()]);
    }
  },
);

withDispatchPaused(
  "a commit that loses its table to a seated party's longer stay re-plans on a fresh snapshot",
  async () => {
    // The stay change is held by the platform's UPDATE without the restaurant lock, so the commit's check
    // passes and its insert waits on the platform's transaction, then meets the exclusion constraint.
    const r = await createRestaurant(sql, {
      tables: [{ number: "T1", capacity: 2 }, { number: "T2", capacity: 2 }],
    });
    const day = someDay();
    const [seated, next] = (await sql<{ id: string }[]>`
      insert into public.bookings (restaurant_id, party_size, start_at)
      values (${r.id}, 2, ${day}::date + time '18:00'), (${r.id}, 2, ${day}::date + time '20:00')
      returning id`).map((x) => x.id);
    const store = postgresStore(DB_URL, { max: 1 });
    const platform = connect(1);
    try {
      const tableId = async (number: string) =>
        (await sql`select id from public.restaurant_tables where restaurant_id = ${r.id} and table_number = ${number}`)[
          0
        ]
          .id as string;
      const [t1, t2] = [await tableId("T1"), await tableId("T2")];
      const seatedBegun = await store.begin({ bookingId: seated, trigger: "test" });
      assert(seatedBegun.outcome === "ready");
      assertEquals(
        (await store.commit({
          bookingId: seated,
          leaseToken: seatedBegun.lease_token,
          tableIds: [t1],
          strategy: "optimal_fit",
          durationMs: 1,
          metadata: {},
        })).outcome,
        "confirmed",
      );
      await sql`update public.bookings set status = 'checked_in' where id = ${seated}`;

      const nextBegun = await store.begin({ bookingId: next, trigger: "test" });
      assert(nextBegun.outcome === "ready");
      let committing: Promise<unknown> = Promise.resolve();
      await platform.begin(async (tx) => {
        await tx`set local role service_role`;
        await tx`update public.bookings set end_at = ${day}::date + time '21:30' where id = ${seated}`;
        committing = store.commit({
          bookingId: next,
          leaseToken: nextBegun.lease_token,
          tableIds: [t1],
          strategy: "optimal_fit",
          durationMs: 1,
          metadata: {},
        });
        await waitFor("the commit to wait on the platform's transaction", async () => {
          const [{ waiting }] = await sql`
            select count(*)::int as waiting from pg_stat_activity
             where wait_event_type = 'Lock' and query like '%assignment_commit%'`;
          return waiting > 0 || undefined;
        });
      });
      const lost = await committing as { outcome: string; busy_tables?: string[]; snapshot?: unknown };
      assertEquals(lost.outcome, "conflict", "a lost race, not an error");
      assertEquals(lost.busy_tables, ["T1"], "naming the table the seated party kept");
      const snapshot = snapshotSchema.parse(lost.snapshot);
      assert(
        snapshot.busy.some((h) => h.tableId === t1),
        "with a fresh snapshot that shows the table taken, to plan again on",
      );
      const [held] = await sql`
        select assignment_state, lease_token from public.bookings where id = ${next}`;
      assertEquals(
        held.assignment_state,
        "assignment_in_progress",
        "the booking keeps its lease to plan again",
      );
      assertEquals(
        (await store.commit({
          bookingId: next,
          leaseToken: nextBegun.lease_token,
          tableIds: [t2],
          strategy: "optimal_fit",
          durationMs: 1,
          metadata: {},
        })).outcome,
        "confirmed",
        "and the re-plan commits",
      );
    } finally {
      await Promise.all([store.close(), platform.end()]);
    }
  },
);

Deno.test("closing", async () => {
  const [{ configured }] = await sql`
    select count(*)::int as configured from vault.decrypted_secrets where name = 'assignment_functions_url'`;
  assertEquals(configured, 1, "dispatch is configured again after the paused tests");
  await sql.end();
});
