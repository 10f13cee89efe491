// A hold locks its tables' rows within the call that writes it, not at commit (20261231250000). Real
// connections play each part: a platform's transaction left open while it deletes a table, and the
// coordinator's commit beside it, one RPC in one transaction as the function makes it.
import type postgres from "postgres";
import { assert, assertEquals } from "../../../shared/testing/assert.ts";
import {
  connect,
  createRestaurant,
  holdOpen,
  someDay,
  withDispatchPaused,
} from "../../../shared/testing/stack.ts";

const sql = connect(2);
globalThis.addEventListener("unload", () => void sql.end());

/** How a call on a connection of its own ended within `ms`: its answer, or its SQLSTATE ("still waiting"). */
async function within(ms: number, call: (db: postgres.Sql) => Promise<unknown>) {
  const db = connect(1);
  const started = performance.now();
  const ended = call(db).then(
    (answer) => ({ answer, code: null as string | null }),
    (error) => ({ answer: null, code: (error as { code?: string }).code ?? String(error) }),
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<{ answer: null; code: string }>((resolve) =>
    timer = setTimeout(() => resolve({ answer: null, code: "still waiting" }), ms)
  );
  const first = await Promise.race([ended, late]);
  clearTimeout(timer);
  return {
    first,
    waited: performance.now() - started,
    /** Once the other transaction has ended: the call's own end, and its connection closed. */
    settle: () => ended.finally(() => db.end()),
  };
}

Deno.test("a commit on a table a platform is deleting in an open transaction gives up within the call, as a race, and the restaurant is not held", async () => {
  await withDispatchPaused(sql, async () => {
    const r = await createRestaurant(sql, {
      tables: [{ number: "D1", capacity: 4 }, { number: "D2", capacity: 4 }],
    });
    const booking = await r.insertBooking(2, `${someDay()}T19:00:00Z`);
    const [{ lease }] = await sql<{ lease: { outcome: string; lease_token: string } }[]>`
      select public.assignment_lease(${booking}, 'test') as lease`;
    assertEquals(lease.outcome, "ready");
    // The platform deletes D1, which no booking has held, and keeps its transaction open.
    const deleting = await holdOpen(async (tx) => {
      await tx`set local role service_role`;
      await tx`delete from public.restaurant_tables where id = ${r.tableIds.get("D1")!}`;
    });
    const commit = await within(3_000, (db) =>
      db.begin(async (tx) => {
        await tx`set local role service_role`;
        const [{ c }] = await tx<{ c: { outcome: string } }[]>`
          select public.assignment_commit(${booking}, ${lease.lease_token}::uuid,
                                          array[${r.tableIds.get("D1")!}]::uuid[], 'scarcity_fit') as c`;
        return c;
      }));
    try {
      assertEquals(
        commit.first.code,
        "55P03",
        "the commit gives up on the table being deleted, a race to re-plan",
      );
      assert(commit.waited < 2_000, `within the call, not at its commit (${Math.round(commit.waited)} ms)`);
      // Meanwhile the restaurant is free: the same lease commits on the other table.
      const [{ c }] = await sql<{ c: { outcome: string } }[]>`
        select public.assignment_commit(${booking}, ${lease.lease_token}::uuid,
                                        array[${r.tableIds.get("D2")!}]::uuid[], 'scarcity_fit') as c`;
      assertEquals(c.outcome, "confirmed", "the next plan, on the other table, is confirmed at once");
    } finally {
      await deleting.release();
      await commit.settle();
    }
    const [{ tables }] = await sql<{ tables: string[] }[]>`
      select array_agg(t.table_number order by t.table_number) as tables
        from public.booking_table_assignments a join public.restaurant_tables t on t.id = a.table_id
       where a.booking_id = ${booking} and a.released_at is null`;
    assertEquals(
      tables,
      ["D2"],
      "it holds the table it was confirmed on, and the platform's delete went through",
    );
  });
});
