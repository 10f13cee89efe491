// Review alternatives against the running stack, on random small rooms and evenings: the SQL
// (private.seating_alternatives) and the benchmark's TypeScript twin offer the same times and tables; an
// alternative accepted at once is seated on exactly those tables at that time; and after a competing booking
// takes tables, accepting is either seated or refused with a reason (AS009/AS007), never a raw error and
// never a double booking. The restaurant's mode is `off`, so the coordinator never races the test: each
// booking goes straight to manual review and every confirmation is an operator's.
import fc from "fast-check";
import { assert, assertEquals } from "../../../shared/testing/assert.ts";
import { connect, createRestaurant, type TableSpec, waitForTerminal } from "../../../shared/testing/stack.ts";
import { tableSchema } from "../../../shared/domain/snapshot.ts";
import { seatingAlternatives } from "../../../scripts/bench/quality/review-alternatives.ts";

const sql = connect(4);
const MIN = 60_000;
// Service 17:00–23:00 UTC; bookings and competitors start on the grid between 17:00 and 21:30.
const SLOTS = Array.from(
  { length: 19 },
  (_, i) => `${String(17 + Math.floor(i / 4)).padStart(2, "0")}:${String((i % 4) * 15).padStart(2, "0")}`,
);

interface Evening {
  tables: TableSpec[];
  adjacent: boolean[];
  others: { party: number; at: string; table: number }[];
  party: number;
  at: string;
  compete: { party: number; table: number } | null;
  pick: number;
}

const evening: fc.Arbitrary<Evening> = fc.integer({ min: 2, max: 4 }).chain((n) =>
  fc.record({
    tables: fc.array(fc.constantFrom(2, 4, 6), { minLength: n, maxLength: n })
      .map((caps) => caps.map((capacity, i) => ({ number: `T${i + 1}`, capacity }))),
    adjacent: fc.array(fc.boolean(), { minLength: n - 1, maxLength: n - 1 }),
    others: fc.array(
      fc.record({
        party: fc.integer({ min: 1, max: 4 }),
        at: fc.constantFrom(...SLOTS),
        table: fc.nat(n - 1),
      }),
      { maxLength: 6 },
    ),
    party: fc.integer({ min: 1, max: 8 }),
    at: fc.constantFrom(...SLOTS),
    compete: fc.option(fc.record({ party: fc.integer({ min: 1, max: 4 }), table: fc.nat(n - 1) })),
    pick: fc.nat(2),
  })
);

const LOST_ALTERNATIVE: Evening = {
  tables: [{ number: "T1", capacity: 2 }],
  adjacent: [],
  others: [{ party: 2, at: "19:00", table: 0 }],
  party: 2,
  at: "19:00",
  compete: { party: 2, table: 0 },
  pick: 0,
};

interface SqlAlternative {
  start_at: string;
  offset_minutes: number;
  tables: string[];
  table_ids: string[];
}

/** Confirm a new booking of the restaurant on one table by hand; false when the table is not free for it. */
async function book(restaurant: string, party: number, startAt: string, table: string): Promise<boolean> {
  const [{ id }] = await sql`
    insert into public.bookings (restaurant_id, party_size, start_at) values (${restaurant}, ${party}, ${startAt})
    returning id`;
  try {
    await sql`select ops.assign_tables(${id}, array[${table}], 'property test')`;
    return true;
  } catch (error) {
    if (!(error instanceof Error) || !("code" in error) || !String(error.code).startsWith("AS")) throw error;
    return false;
  }
}

/** What the TypeScript twin offers for the booking, read from the same rows the SQL reads. */
async function twin(bookingId: string) {
  const [b] = await sql`select * from public.bookings where id = ${bookingId}`;
  const tables = (await sql`
    select t.id, t.table_number as number, t.zone_id, t.capacity, t.min_party_size, t.max_party_size, t.movable
      from private.usable_tables(${b.restaurant_id}) t`).map((t) => tableSchema.parse(t));
  const adjacency = (await sql`
    select table_a, table_b from public.table_adjacency where restaurant_id = ${b.restaurant_id}`)
    .map((a) => [a.table_a, a.table_b] as [string, string]);
  const holds = await sql`
    select table_id, lower(during) as start, upper(during) as end from public.booking_table_assignments
     where restaurant_id = ${b.restaurant_id} and released_at is null and booking_id <> ${bookingId}`;
  const [{ max_tables }] = await sql`
    select (private.settings_for(${b.restaurant_id})).max_tables_per_booking as max_tables`;
  const day = Date.parse(b.start_at.toISOString().slice(0, 10));
  return seatingAlternatives({
    partySize: b.party_size,
    startAt: b.start_at.getTime(),
    stayMs: b.end_at.getTime() - b.start_at.getTime(),
    bufferBeforeMs: b.buffer_before_minutes * MIN,
    bufferAfterMs: b.buffer_after_minutes * MIN,
    now: Date.now(),
    tables,
    adjacency,
    maxTables: max_tables,
    isOpen: (start, end) => start >= day + 17 * 60 * MIN && end <= day + 23 * 60 * MIN,
    isFree: (ids, start, end) =>
      holds.every((h) => !ids.includes(h.table_id) || h.end.getTime() <= start || end <= h.start.getTime()),
  });
}

async function doubleBookings(restaurant: string): Promise<number> {
  const [{ n }] = await sql`
    select count(*)::int as n from public.booking_table_assignments a join public.booking_table_assignments b
        on a.table_id = b.table_id and a.id < b.id and a.during && b.during
     where a.restaurant_id = ${restaurant} and a.released_at is null and b.released_at is null`;
  return n;
}

Deno.test("alternatives agree with the twin, are seatable when accepted, and a lost one is refused with a reason", async () => {
  let day = 0;
  let accepted = 0;
  let refused = 0;
  await fc.assert(
    fc.asyncProperty(evening, async (e) => {
      const r = await createRestaurant(sql, {
        tables: e.tables,
        adjacency: e.adjacent.flatMap((on, i) => on ? [[`T${i + 1}`, `T${i + 2}`] as [string, string]] : []),
      });
      await sql`insert into public.service_periods (restaurant_id, name, day_of_week, starts_at, ends_at)
                select ${r.id}, 'Dinner', d, '17:00', '23:00' from generate_series(0, 6) d`;
      await sql`select ops.set_restaurant_mode(${r.id}, 'off', 'property test', 'operators confirm by hand')`;
      // A day of its own for each run, inside the horizon a booking may start in.
      const date = new Date(Date.now() + (60 + day++) * 86_400_000).toISOString().slice(0, 10);
      for (const o of e.others) await book(r.id, o.party, `${date}T${o.at}:00Z`, `T${o.table + 1}`);

      const id = await r.insertBooking(e.party, `${date}T${e.at}:00Z`);
      assertEquals(
        (await waitForTerminal(sql, [id], 10_000)).get(id),
        "manual_review",
        "automatic assignment is off",
      );
      const [{ alternatives }] = await sql<{ alternatives: SqlAlternative[] }[]>`
        select private.seating_alternatives(b) as alternatives from public.bookings b where b.id = ${id}`;
      const expected = await twin(id);
      assertEquals(
        alternatives.map((a) => [Date.parse(a.start_at), a.offset_minutes, a.tables]),
        expected.map((a) => [a.startAt, a.offsetMinutes, a.tableNumbers]),
        "the SQL and the TypeScript twin offer the same times and tables",
      );
      if (alternatives.length === 0) return;

      const chosen = alternatives[e.pick % alternatives.length];
      if (e.compete) {
        await book(r.id, e.compete.party, chosen.start_at, `T${e.compete.table + 1}`);
      }
      const [before] =
        await sql`select start_at, assignment_state_version from public.bookings where id = ${id}`;
      try {
        const [{ result }] = await sql`
          select ops.accept_alternative(${id}, ${chosen.start_at}, 'property test') as result`;
        accepted++;
        assertEquals(result.outcome, "confirmed", "an accepted alternative is confirmed");
        const [b] = await sql`select assignment_state, start_at from public.bookings where id = ${id}`;
        assertEquals(b.assignment_state, "confirmed", "the booking ends confirmed");
        assertEquals(b.start_at.getTime(), Date.parse(chosen.start_at), "at the alternative's time");
        const [{ tables }] = await sql`
          select array_agg(t.table_number order by t.table_number) as tables
            from public.booking_table_assignments a join public.restaurant_tables t on t.id = a.table_id
           where a.booking_id = ${id} and a.released_at is null`;
        if (!e.compete) assertEquals(tables, chosen.tables, "on the alternative's tables");
        else assertEquals(tables, result.tables, "on the tables the re-check found free");
      } catch (error) {
        assert(e.compete !== null, `an alternative accepted at once is seated (got ${error})`);
        assert(error instanceof Error && "code" in error, `a refusal is a database error: ${error}`);
        assert(
          ["AS009", "AS007"].includes(String(error.code)),
          `refused with a reason: ${error.code} ${error}`,
        );
        assert(error.message.length > 0, "the refusal says why");
        refused++;
        const [after] = await sql`
          select start_at, assignment_state, assignment_state_version from public.bookings where id = ${id}`;
        assertEquals(
          [after.start_at.getTime(), after.assignment_state, after.assignment_state_version],
          [before.start_at.getTime(), "manual_review", before.assignment_state_version],
          "a refusal writes nothing",
        );
      }
      assertEquals(await doubleBookings(r.id), 0, "no table is double-booked");
    }),
    // Besides the random evenings (which lose an alternative now and then), one that always does: a single
    // 2-top taken at 19:00, and a competitor booked onto it at the alternative offered. (Examples count in
    // numRuns: 40 random evenings as before.)
    { numRuns: 41, examples: [[LOST_ALTERNATIVE]] },
  );
  console.log(`accepted ${accepted}, refused ${refused}`);
  assert(accepted > 0, "some alternatives were accepted");
  assert(refused > 0, "some alternatives were lost to a competitor and refused");
  await sql.end();
});
