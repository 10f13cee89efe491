// The coordinator reads its snapshot outside the restaurant lock (20261216000000): the lease is taken under it,
// the snapshot in a transaction of its own that takes no lock. While another transaction holds the lock, a
// lease's snapshot is read at once and a begin of the same restaurant waits. Real connections play each part,
// calling as service_role.
import { assert, assertEquals } from "../../../shared/testing/assert.ts";
import {
  connect,
  createRestaurant,
  holdRestaurantLock,
  someDay,
  withDispatchPaused,
} from "../../../shared/testing/stack.ts";

const sql = connect(2);

Deno.test("a lease's snapshot is read while the restaurant lock is held elsewhere; a begin waits for it", async () => {
  await withDispatchPaused(sql, async () => {
    const r = await createRestaurant(sql, {
      tables: [{ number: "O1", capacity: 4 }, { number: "O2", capacity: 4 }],
    });
    const day = someDay();
    const leased = await r.insertBooking(2, `${day}T19:00:00Z`);
    const other = await r.insertBooking(2, `${day}T20:00:00Z`);
    // Every call as service_role, the role the coordinator's Data API client has.
    const [{ lease }] = await sql.begin(async (tx) => {
      await tx`set local role service_role`;
      return await tx<{ lease: { outcome: string; lease_token: string } }[]>`
        select public.assignment_lease(${leased}, 'test') as lease`;
    });
    assertEquals(lease.outcome, "ready");

    const lock = await holdRestaurantLock(sql, r.id);
    const caller = connect(1);
    try {
      // Each call gives up after waiting this long for any lock.
      const within = <T>(ms: number, run: (tx: import("postgres").TransactionSql) => Promise<T>) =>
        caller.begin(async (tx) => {
          await tx.unsafe(`set local lock_timeout = '${ms}ms'`);
          await tx`set local role service_role`;
          return await run(tx);
        }).then(
          (value) => ({ value, code: "" }),
          (error) => ({ value: undefined, code: String(error.code) }),
        );

      const read = await within(2000, async (tx) => {
        const [{ r: answer }] = await tx<{ r: { outcome: string; snapshot: { tables: unknown[] } } }[]>`
          select public.assignment_snapshot(${leased}, ${lease.lease_token}::uuid) as r`;
        return answer;
      });
      assertEquals(read.code, "", "the snapshot read did not wait for the lock");
      assertEquals([read.value?.outcome, read.value?.snapshot.tables.length], ["ready", 2]);

      // (A begin waits its own lock_timeout, 5 s, whatever the session's: 20261224000000; then it answers busy,
      // 20261226030000.)
      const started = performance.now();
      const begun = await within(300, async (tx) => {
        const [{ r: answer }] = await tx<{ r: { outcome: string; reason: string } }[]>`
          select public.assignment_begin(${other}, 'test') as r`;
        return answer;
      });
      assertEquals([begun.code, begun.value?.outcome, begun.value?.reason], [
        "",
        "busy",
        "restaurant_locked",
      ]);
      assert(
        performance.now() - started >= 4500,
        "a begin of the same restaurant waited for the lock, and gave up",
      );
    } finally {
      await lock.release();
      await caller.end();
    }
    await sql`select public.assignment_fail(${leased}, ${lease.lease_token}::uuid, 'conflict', 'test over')`;
  });
  await sql.end();
});
