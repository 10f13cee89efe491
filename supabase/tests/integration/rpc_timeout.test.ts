// A call the database does not answer in time is given up on: a connection that died without closing must not
// hold a coordinator's drain for the rest of its instance. Played here by a lease waiting behind a restaurant
// lock held elsewhere, with the port's time cut to half a second (its own is 30 s). The statement is abandoned,
// not cancelled: it gives up by itself at its 5 s lock limit, writing nothing.
import { assert, assertEquals } from "../../../shared/testing/assert.ts";
import {
  connect,
  createRestaurant,
  DB_URL,
  holdRestaurantLock,
  someDay,
  withDispatchPaused,
} from "../../../shared/testing/stack.ts";
import { postgresStore } from "../../../shared/store/postgres.ts";
import { silencingProxy } from "../../../shared/testing/tcp-proxy.ts";
import { StoreError } from "../../../shared/store/port.ts";

const sql = connect(2);

Deno.test("an RPC that does not answer in time is given up on, its statement ends by itself, and the port still works", async () => {
  await withDispatchPaused(sql, async () => {
    const r = await createRestaurant(sql, { tables: [{ number: "Q1", capacity: 4 }] });
    const booking = await r.insertBooking(2, `${someDay()}T19:00:00Z`);
    const store = postgresStore(DB_URL, { max: 2, rpcTimeoutMs: 500 });
    const before = await state(booking);
    const lock = await holdRestaurantLock(sql, r.id);
    try {
      const started = performance.now();
      const error = await store.begin({ bookingId: booking, trigger: "test" }).then(() => null, (e) => e);
      const waited = performance.now() - started;
      assert(error instanceof StoreError, `a database error, not ${error}`);
      assertEquals(error.code, "57014", "reported as a cancelled statement");
      assert(waited >= 450 && waited < 3000, `given up on after its time (${Math.round(waited)} ms)`);
      assertEquals(await stillWaiting(), 0, "the abandoned statement gives up by itself at its lock limit");
      assertEquals(await state(booking), before, "having written nothing");
    } finally {
      await lock.release();
    }
    try {
      const lease = await store.begin({ bookingId: booking, trigger: "test" });
      assertEquals(lease.outcome, "ready", "the same port leases the booking once the lock is free");
      if (lease.outcome === "ready") {
        await store.fail({
          bookingId: booking,
          leaseToken: lease.lease_token,
          kind: "conflict",
          reason: "test over",
          durationMs: 1,
          details: {},
        });
      }
    } finally {
      await store.close();
    }
  });
  await sql.end();
});

Deno.test("a call given up on retires its connections: a socket that stopped answering holds no later call", async () => {
  // Every connection of the port's pool open when the network fails goes silent; a new one gets through.
  const proxy = silencingProxy(DB_URL);
  const store = postgresStore(proxy.url, { max: 2, rpcTimeoutMs: 500 });
  const nobody = () => store.begin({ bookingId: crypto.randomUUID(), trigger: "test" });
  try {
    // Both connections open, as a busy instance's are.
    assertEquals((await Promise.all([nobody(), nobody()])).map((r) => r.outcome), ["noop", "noop"]);
    proxy.silenceOpenConnections();
    const lost = await nobody().then(() => null, (e) => e);
    assert(
      lost instanceof StoreError && lost.code === "57014",
      `the silent connection's call times out: ${lost}`,
    );
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      assertEquals((await nobody()).outcome, "noop", "the next calls go through fresh connections");
      assert(performance.now() - started < 450, "without waiting behind the silent ones");
    }
  } finally {
    await store.close();
    await proxy.close();
  }
});

/** Lease calls of the port still waiting on the server, once they had up to 7 s to give up. */
async function stillWaiting(): Promise<number> {
  for (let i = 0; i < 70; i++) {
    const [{ n }] = await sql`
      select count(*)::int as n from pg_stat_activity
       where application_name = 'assignment-coordinator' and state = 'active' and query like '%assignment_lease%'
         and cardinality(pg_blocking_pids(pid)) > 0`;
    if (n === 0) return 0;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return -1;
}

async function state(booking: string) {
  const [row] = await sql`
    select b.assignment_state, b.assignment_state_version, b.attempt_count, b.lease_token
      from public.bookings b where b.id = ${booking}`;
  return row;
}
