// An operator's seat racing a seated party's longer stay, on two real connections. ops.assign_tables and
// ops.accept_alternative check the tables free under the restaurant lock; a platform's change to a checked-in
// party's stay (its own UPDATE, through the Data API's role) holds the tables for the longer stay without that
// lock. When the stay's transaction commits while the operator's seat waits on it, the operator is refused
// with AS009 and a reason, nothing is written for the booking, and nothing is double-booked. The restaurant's
// mode is `off`, so the coordinator never takes part: every seat here is an operator's.
import postgres from "postgres";
import { assert, assertEquals } from "../../../shared/testing/assert.ts";
import { connect, createRestaurant, waitFor, waitForTerminal } from "../../../shared/testing/stack.ts";

const sql = connect(2);
let day = 0;

/** A one-table evening: a party of two seated on T1 from 18:00, and a booking of two in manual review. */
async function evening(reviewAt: string) {
  const r = await createRestaurant(sql, { tables: [{ number: "T1", capacity: 2 }] });
  await sql`insert into public.service_periods (restaurant_id, name, day_of_week, starts_at, ends_at)
            select ${r.id}, 'Dinner', d, '17:00', '23:00' from generate_series(0, 6) d`;
  await sql`select ops.set_restaurant_mode(${r.id}, 'off', 'race test', 'operators seat by hand')`;
  const date = new Date(Date.now() + (70 + day++) * 86_400_000).toISOString().slice(0, 10);
  const seated = await r.insertBooking(2, `${date}T18:00:00Z`);
  const waiting = await r.insertBooking(2, `${date}T${reviewAt}:00Z`);
  const states = await waitForTerminal(sql, [seated, waiting], 10_000);
  assertEquals([states.get(seated), states.get(waiting)], ["manual_review", "manual_review"]);
  await sql`select ops.assign_tables(${seated}, array['T1'], 'race test')`;
  await sql`update public.bookings set status = 'checked_in' where id = ${seated}`;
  return { restaurant: r.id, date, seated, waiting };
}

/**
 * The platform lengthens the seated party's stay to `until` and, before it commits, the operator's call
 * starts and waits on it; then the platform commits. Returns what the operator's call threw (or null).
 */
async function raceWithLongerStay(
  seated: string,
  until: string,
  operatorCall: (db: postgres.Sql) => Promise<unknown>,
) {
  const platform = connect(1);
  const operator = connect(1);
  let outcome: Promise<unknown> = Promise.resolve(null);
  try {
    await platform.begin(async (tx) => {
      await tx`set local role service_role`;
      await tx`update public.bookings set end_at = ${until} where id = ${seated}`;
      const [{ pid }] = await operator<{ pid: number }[]>`select pg_backend_pid() as pid`;
      outcome = operatorCall(operator).then(() => null, (error) => error);
      await waitFor("the operator's seat to wait on the platform's transaction", async () => {
        const [{ waiting }] = await sql<{ waiting: boolean }[]>`
          select coalesce(bool_or(wait_event_type = 'Lock'), false) as waiting from pg_stat_activity where pid = ${pid}`;
        return waiting || undefined;
      });
    });
    return await outcome;
  } finally {
    await platform.end();
    await operator.end();
  }
}

async function assertRefusedAndUntouched(error: unknown, booking: string, before: Record<string, unknown>) {
  assert(error instanceof postgres.PostgresError, `the operator's seat is refused by the database: ${error}`);
  assertEquals(
    error.code,
    "AS009",
    `refused as already taken, not a raw conflict: ${error.code} ${error.message}`,
  );
  assert(error.message.includes("T1"), `the refusal names the table: ${error.message}`);
  const [after] = await sql`
    select start_at, assignment_state, assignment_state_version from public.bookings where id = ${booking}`;
  assertEquals(after, before, "the refused booking is as it was");
  const [{ held }] = await sql`
    select count(*)::int as held from public.booking_table_assignments
     where booking_id = ${booking} and released_at is null`;
  assertEquals(held, 0, "the refused booking holds no table");
}

async function assertSeatedStayHeldAlone(restaurant: string, seated: string, until: string) {
  const [{ upper }] = await sql`
    select max(upper(during)) as upper from public.booking_table_assignments
     where booking_id = ${seated} and released_at is null`;
  assert(upper.getTime() >= Date.parse(until), "the seated party holds its table for the longer stay");
  const [{ n }] = await sql`
    select count(*)::int as n from public.booking_table_assignments a join public.booking_table_assignments b
        on a.table_id = b.table_id and a.id < b.id and a.during && b.during
     where a.restaurant_id = ${restaurant} and a.released_at is null and b.released_at is null`;
  assertEquals(n, 0, "no table is double-booked");
}

Deno.test("an alternative lost to a seated party's longer stay is refused with AS009, not a raw conflict", async () => {
  const { restaurant, date, seated, waiting } = await evening("19:00");
  const [{ alternatives }] = await sql<{ alternatives: { start_at: string }[] }[]>`
    select private.seating_alternatives(b) as alternatives from public.bookings b where b.id = ${waiting}`;
  const later = alternatives.find((a) => Date.parse(a.start_at) > Date.parse(`${date}T19:00:00Z`));
  assert(later !== undefined, `a later alternative on T1 is offered: ${JSON.stringify(alternatives)}`);
  const [before] = await sql`
    select start_at, assignment_state, assignment_state_version from public.bookings where id = ${waiting}`;
  const until = `${date}T22:45:00Z`;
  const error = await raceWithLongerStay(
    seated,
    until,
    (db) => db`select ops.accept_alternative(${waiting}, ${later.start_at}, 'race test')`,
  );
  await assertRefusedAndUntouched(error, waiting, before);
  await assertSeatedStayHeldAlone(restaurant, seated, until);
});

Deno.test("a table assigned by hand and lost to a seated party's longer stay is refused with AS009", async () => {
  const { restaurant, date, seated, waiting } = await evening("21:00");
  const [before] = await sql`
    select start_at, assignment_state, assignment_state_version from public.bookings where id = ${waiting}`;
  const until = `${date}T22:45:00Z`;
  const error = await raceWithLongerStay(
    seated,
    until,
    (db) => db`select ops.assign_tables(${waiting}, array['T1'], 'race test')`,
  );
  await assertRefusedAndUntouched(error, waiting, before);
  await assertSeatedStayHeldAlone(restaurant, seated, until);
  await sql.end();
});
