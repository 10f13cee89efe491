// The coordinator RPCs driven directly over several real connections, the way concurrent function
// instances call them: the shared concurrency limit, the shared circuit breaker and lease expiry.
// Dispatch to the coordinator function is paused (its URL taken out of Vault) while each test runs, so
// neither the insert trigger nor the sweeper's retries move these bookings: only the test does.
import { assert, assertEquals } from "../../../shared/testing/assert.ts";
import {
  connect,
  createRestaurant,
  someDay,
  withDispatchPaused as pauseDispatch,
} from "../../../shared/testing/stack.ts";
import { postgresStore } from "../../../shared/store/postgres.ts";
import { DB_URL } from "../../../shared/testing/stack.ts";

const sql = connect(4);

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
        tableIds: [first.snapshot.tables[0].id],
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
        tableIds: [probe.snapshot.tables[0].id],
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

withDispatchPaused("'no table fits' and rate limiting never trip the breaker", async () => {
  const r = await createRestaurant(sql, { tables: [{ number: "R1", capacity: 2 }] });
  const ids = await quietBookings(r.id, 6);
  const store = postgresStore(DB_URL, { max: 1 });
  try {
    for (const id of ids) {
      const begun = await store.begin({ bookingId: id, trigger: "test" });
      assert(begun.outcome === "ready");
      const failed = await store.fail({
        bookingId: id,
        leaseToken: begun.lease_token,
        kind: "no_fit",
        reason: "no_table_fits: test",
        durationMs: 1,
        details: {},
      });
      assertEquals(failed.outcome, "manual_review", "no_fit goes straight to an operator by default");
    }
    const rows = await sql`select state from private.circuit_breakers where restaurant_id = ${r.id}`;
    assert(rows.length === 0 || rows[0].state === "closed", "the breaker stayed closed");
  } finally {
    await store.close();
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
        tableIds: [begun.snapshot.tables[0].id],
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

Deno.test("closing", async () => {
  const [{ configured }] = await sql`
    select count(*)::int as configured from vault.decrypted_secrets where name = 'assignment_functions_url'`;
  assertEquals(configured, 1, "dispatch is configured again after the paused tests");
  await sql.end();
});
