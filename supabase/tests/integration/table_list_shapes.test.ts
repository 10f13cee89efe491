// Whatever shape a list of tables has (an array from another position than 1, or in two dimensions, as
// Postgres's array syntax lets a Data API caller write one), the seating rules judge it as the plain list of
// its tables, and a commit through the Data API refuses it before anything else (20261231300000, pgTAP 150).
import fc from "fast-check";
import { assertEquals } from "../../../shared/testing/assert.ts";
import { connect, createRestaurant, localDataApi } from "../../../shared/testing/stack.ts";

const sql = connect(2);
const { platform } = await localDataApi();

// A 2-top, two 4-tops that join, and a 6-top that joins nothing.
const room = await createRestaurant(sql, {
  tables: [
    { number: "T1", capacity: 2 },
    { number: "T2", capacity: 4 },
    { number: "T3", capacity: 4 },
    { number: "T4", capacity: 6, movable: false },
  ],
  adjacency: [["T2", "T3"]],
});
const ids = [...room.tableIds.values()];

/** A list of one to three of the room's tables, written from position `lower` or one table per row. */
const shaped = fc.record({
  tables: fc.subarray(ids, { minLength: 1, maxLength: 3 }),
  shape: fc.oneof(
    fc.integer({ min: -3, max: 6 }).map((lower) => ({ lower })),
    fc.constant({ nested: true as const }),
  ),
  party: fc.integer({ min: 1, max: 12 }),
});
function literal(tables: string[], shape: { lower: number } | { nested: true }): string {
  return "nested" in shape
    ? `{${tables.map((t) => `{${t}}`).join(",")}}`
    : `[${shape.lower}:${shape.lower + tables.length - 1}]={${tables.join(",")}}`;
}

Deno.test("the seating rules give a list of tables whatever its shape the verdict its plain list gets", async () => {
  await fc.assert(
    fc.asyncProperty(shaped, async ({ tables, shape, party }) => {
      const [row] = await sql<{ shaped: string; plain: string }[]>`
        with b as (
          select jsonb_populate_record(null::public.bookings,
                   jsonb_build_object('restaurant_id', ${room.id}::uuid, 'party_size', ${party}::int)) as b
        )
        select coalesce(private.table_rule_violation(b.b, ${
        literal(tables, shape)
      }::uuid[], 4), 'none') as shaped,
               coalesce(private.table_rule_violation(b.b, ${tables}::uuid[], 4), 'none') as plain
          from b`;
      assertEquals(row.shaped, row.plain, `${literal(tables, shape)} for a party of ${party}`);
    }),
    { numRuns: 150 },
  );
});

Deno.test("a commit through the Data API refuses a list of tables that is not a plain list, before anything else", async () => {
  await fc.assert(
    fc.asyncProperty(shaped, async ({ tables, shape }) => {
      const commit = (tableIds: string | string[]) =>
        platform.rpc("assignment_commit", {
          p_booking_id: crypto.randomUUID(),
          p_lease_token: crypto.randomUUID(),
          p_table_ids: tableIds as string[],
          p_strategy: "scarcity_fit",
        });
      // No such booking or lease: a list the commit takes is answered lease_lost, one it refuses AS005.
      const answered = async (tableIds: string | string[]) => {
        const { status, data, error } = await commit(tableIds);
        return error ? [status, error.code] : [status, (data as { outcome: string }).outcome];
      };
      const fromOne = "lower" in shape && shape.lower === 1;
      assertEquals(
        await answered(literal(tables, shape)),
        fromOne ? [200, "lease_lost"] : [400, "AS005"],
        literal(tables, shape),
      );
      assertEquals(await answered(tables), [200, "lease_lost"], "the same tables as a plain list");
    }),
    { numRuns: 60 },
  );
  await sql.end();
});
