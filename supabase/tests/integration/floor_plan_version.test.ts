// A restaurant's floor-plan version under concurrent writers (20261230020000): the number kept beside the
// change log must end equal to the log's count, whatever order writers of one restaurant, or of several in one
// statement, commit in, and no writer may deadlock another: every statement takes a restaurant's version row
// before its re-check row. Real connections write as the Data API does (service_role), holding their
// transactions open so they overlap.
import type postgres from "postgres";
import { assertEquals } from "../../../shared/testing/assert.ts";
import { connect, createRestaurant, someDay, waitForTerminal } from "../../../shared/testing/stack.ts";

async function versionAndLog(db: ReturnType<typeof connect>, restaurantId: string) {
  const [row] = await db<{ version: string; logged: string }[]>`
    select private.floor_plan_version(${restaurantId}) as version,
           (select count(*) from private.floor_plan_changes where restaurant_id = ${restaurantId}) as logged`;
  return { version: Number(row.version), logged: Number(row.logged) };
}

Deno.test("concurrent floor-plan writers leave each restaurant's version equal to its changes", async () => {
  const admin = connect(1);
  const writers = Array.from({ length: 6 }, () => connect(1));
  try {
    const tables = ["A1", "A2", "A3", "A4"].map((number) => ({ number, capacity: 4 }));
    const restaurants = [
      await createRestaurant(admin, { tables }),
      await createRestaurant(admin, { tables }),
    ];
    const ids = restaurants.map((r) => r.id);
    const before = await Promise.all(ids.map((id) => versionAndLog(admin, id)));
    assertEquals(before.map((b) => b.version), before.map((b) => b.logged), "counted once when made");

    const statements = [0, 0];
    await Promise.all(writers.map(async (db, w) => {
      for (let round = 0; round < 5; round++) {
        // Writers 0–3 toggle a table of one restaurant; 4 and 5 a table of both in one statement.
        const mine = w >= 4 ? [0, 1] : [w % 2];
        await db.begin(async (tx) => {
          await tx`set local role service_role`;
          await tx`set local lock_timeout = '10s'`;
          await tx`update public.restaurant_tables set out_of_service = not out_of_service
                    where table_number = ${`A${((w + round) % 4) + 1}`}
                      and restaurant_id = any(${mine.map((i) => ids[i])}::uuid[])`;
          await new Promise((resolve) => setTimeout(resolve, 5 + ((w * 7 + round * 3) % 11)));
        });
        for (const i of mine) statements[i]++;
      }
    }));

    for (const [i, id] of ids.entries()) {
      const after = await versionAndLog(admin, id);
      assertEquals(after.version, after.logged, `restaurant ${i + 1}: the kept version is the log's count`);
      assertEquals(
        after.version,
        before[i].version + statements[i],
        `restaurant ${i + 1}: one per statement`,
      );
    }
  } finally {
    await Promise.all([admin, ...writers].map((db) => db.end()));
  }
});

/** Runs `first` in one transaction and `second` in another once `first` has begun, then finishes `first`. */
async function interleaved(
  first: (tx: postgres.TransactionSql) => Promise<unknown>,
  second: (tx: postgres.TransactionSql) => Promise<unknown>,
  firstAgain: (tx: postgres.TransactionSql) => Promise<unknown>,
) {
  const a = connect(1);
  const b = connect(1);
  try {
    let begun = () => {};
    const firstBegun = new Promise<void>((resolve) => (begun = resolve));
    const asWriter = async (tx: postgres.TransactionSql) => {
      await tx`set local role service_role`;
      await tx`set local lock_timeout = '10s'`;
    };
    const one = a.begin(async (tx) => {
      await asWriter(tx);
      await first(tx);
      begun();
      // Long enough for the second to be waiting on what this one holds.
      await new Promise((resolve) => setTimeout(resolve, 400));
      await firstAgain(tx);
    });
    await firstBegun;
    const two = b.begin(async (tx) => {
      await asWriter(tx);
      await second(tx);
    });
    return await Promise.allSettled([one, two]);
  } finally {
    await Promise.all([a.end(), b.end()]);
  }
}

const noDeadlock = (outcomes: PromiseSettledResult<unknown>[]) =>
  assertEquals(outcomes.map((o) => o.status === "rejected" ? String(o.reason) : "committed"), [
    "committed",
    "committed",
  ]);

Deno.test("a writer that renamed a table and another taking one out of service do not deadlock", async () => {
  const admin = connect(1);
  try {
    const tables = ["B1", "B2", "B3"].map((number) => ({ number, capacity: 4 }));
    const r = await createRestaurant(admin, { tables });
    const outcomes = await interleaved(
      // A rename changes no rule: it logs a change (the version row) and marks no re-check.
      (tx) =>
        tx`update public.restaurant_tables set table_number = 'B1a' where id = ${r.tableIds.get("B1")!}`,
      (tx) =>
        tx`update public.restaurant_tables set out_of_service = true where id = ${r.tableIds.get("B2")!}`,
      (tx) =>
        tx`update public.restaurant_tables set out_of_service = true where id = ${r.tableIds.get("B3")!}`,
    );
    noDeadlock(outcomes);
    const after = await versionAndLog(admin, r.id);
    assertEquals(after.version, after.logged);
  } finally {
    await admin.end();
  }
});

Deno.test("a booking brought back from checked-in and a floor-plan writer do not deadlock", async () => {
  const admin = connect(1);
  try {
    const tables = ["C1", "C2"].map((number) => ({ number, capacity: 4 }));
    const r = await createRestaurant(admin, { tables });
    const booking = await r.insertBooking(2, `${someDay()}T19:00:00Z`);
    assertEquals((await waitForTerminal(admin, [booking], 30_000)).get(booking), "confirmed");
    await admin`update public.bookings set status = 'checked_in' where id = ${booking}`;
    const outcomes = await interleaved(
      // Marks the restaurant's re-check row without changing its floor plan.
      (tx) => tx`update public.bookings set status = 'confirmed' where id = ${booking}`,
      (tx) =>
        tx`update public.restaurant_tables set out_of_service = true where id = ${r.tableIds.get("C2")!}`,
      (tx) =>
        tx`update public.restaurant_tables set capacity = 6, max_party_size = 6 where id = ${r.tableIds.get(
          "C1",
        )!}`,
    );
    noDeadlock(outcomes);
  } finally {
    await admin.end();
  }
});
