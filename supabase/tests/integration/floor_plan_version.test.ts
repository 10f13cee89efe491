// A restaurant's floor-plan version under concurrent writers (20261230020000): the number kept beside the
// change log must end equal to the log's count, whatever order writers of one restaurant, or of several in one
// statement, commit in, and no writer may deadlock another. Six real connections write as the Data API does
// (service_role), each holding its transaction open a moment so they overlap.
import { assertEquals } from "../../../shared/testing/assert.ts";
import { connect, createRestaurant } from "../../../shared/testing/stack.ts";

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
