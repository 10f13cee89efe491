// An operator's seat racing a seated party's longer stay, on two real connections. ops.assign_tables and
// ops.accept_alternative check the tables free under the restaurant lock; a platform's change to a checked-in
// party's stay (its own UPDATE, through the Data API's role) holds the tables for the longer stay without that
// lock. When the stay's transaction commits while the operator's seat waits on it, the operator is refused
// with AS009 and a reason, nothing is written for the booking, and nothing is double-booked. The restaurant's
// mode is `off` (or dispatch is paused), so the coordinator never takes part: every seat here is an operator's.
import postgres from "postgres";
import { assert, assertEquals } from "../../../shared/testing/assert.ts";
import {
  connect,
  createRestaurant,
  holdOpen,
  waitFor,
  waitForTerminal,
  withDispatchPaused,
} from "../../../shared/testing/stack.ts";

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

/**
 * T1 (a 2-top) holds a seated party until 18:30; a couple the pipeline placed holds T2 (a 4-top) at 19:00, and
 * four guests wait in review with a stored offer: at 19:15 on T2 once the couple moves to T1. Re-seating
 * offers are the v3 coordinator's, so the restaurant runs v3; call it with dispatch paused, so that every seat
 * and move is still an operator's.
 */
async function reviewWithReseatingOffer() {
  const r = await createRestaurant(sql, {
    tables: [{ number: "T1", capacity: 2 }, { number: "T2", capacity: 4 }],
  });
  await sql`insert into public.service_periods (restaurant_id, name, day_of_week, starts_at, ends_at)
            select ${r.id}, 'Dinner', d, '17:00', '23:00' from generate_series(0, 6) d`;
  const date = new Date(Date.now() + (70 + day++) * 86_400_000).toISOString().slice(0, 10);
  const seated = await r.insertBooking(2, `${date}T17:00:00Z`);
  const couple = await r.insertBooking(2, `${date}T19:00:00Z`);
  const four = await r.insertBooking(4, `${date}T19:00:00Z`);
  await sql`select ops.assign_tables(${seated}, array['T1'], 'race test')`;
  await sql`update public.bookings set status = 'checked_in' where id = ${seated}`;
  await sql`select ops.assign_tables(${couple}, array['T2'], 'race test')`;
  // As if the pipeline had placed the couple: a booking staff placed is never moved.
  await sql`update public.booking_table_assignments set source = 'auto' where booking_id = ${couple}`;
  await sql`select public.transition_assignment_state(${four}, 'manual_review', assignment_state_version,
              'no_table_fits: no free table or combination seats the party')
              from public.bookings where id = ${four}`;
  const [{ t1, t2, key }] = await sql`
    select (select id from public.restaurant_tables where restaurant_id = ${r.id} and table_number = 'T1') as t1,
           (select id from public.restaurant_tables where restaurant_id = ${r.id} and table_number = 'T2') as t2,
           (select private.review_key(b) from public.bookings b where b.id = ${four}) as key`;
  const offer = [{
    start_at: `${date}T19:15:00Z`,
    table_ids: [t2],
    moves: [{ booking_id: couple, from_table_ids: [t2], to_table_ids: [t1] }],
  }];
  const [{ stored }] = await sql.begin(async (tx) => {
    await tx`set local role service_role`;
    return await tx`
      select public.review_offer_reseating(${four}, ${key}, ${tx.json(offer)}) ->> 'outcome' as stored`;
  });
  assertEquals(stored, "stored", "the re-seating search's offer is stored");
  return { r, date, seated, couple, four };
}

Deno.test("an alternative whose re-seating loses its table to a seated party's longer stay is refused with AS009 and moves nobody", async () => {
  await withDispatchPaused(sql, async () => {
    const { r, date, seated, couple, four } = await reviewWithReseatingOffer();

    const [before] = await sql`
      select start_at, assignment_state, assignment_state_version from public.bookings where id = ${four}`;
    const until = `${date}T21:00:00Z`;
    const error = await raceWithLongerStay(
      seated,
      until,
      (db) => db`select ops.accept_alternative(${four}, ${`${date}T19:15:00Z`}, 'race test')`,
    );
    assert(
      error instanceof postgres.PostgresError,
      `the operator's call is refused by the database: ${error}`,
    );
    assertEquals(
      error.code,
      "AS009",
      `refused as taken meanwhile, not a raw conflict: ${error.code} ${error.message}`,
    );
    assert(
      error.message.includes("no longer possible: a table a booking would move to was taken meanwhile"),
      `the refusal says why: ${error.message}`,
    );
    const [after] = await sql`
      select start_at, assignment_state, assignment_state_version from public.bookings where id = ${four}`;
    assertEquals(after, before, "the booking in review is as it was");
    const [{ held }] = await sql`
      select string_agg(t.table_number, '+' order by t.table_number) as held
        from public.booking_table_assignments a join public.restaurant_tables t on t.id = a.table_id
       where a.booking_id = ${couple} and a.released_at is null`;
    assertEquals(held, "T2", "the couple was not moved");
    await assertSeatedStayHeldAlone(r.id, seated, until);
  });
});

Deno.test("an alternative whose re-seating moves a booking the platform is changing says to try again, and then seats", async () => {
  await withDispatchPaused(sql, async () => {
    const { couple, four, date } = await reviewWithReseatingOffer();
    // The platform is updating the couple (a note for the evening's bookings, not yet committed).
    const platform = await holdOpen(async (tx) => {
      await tx`set local role service_role`;
      await tx`update public.bookings set notes = 'anniversary' where id = ${couple}`;
    });
    let refused: unknown = null;
    const started = performance.now();
    try {
      await sql`select ops.accept_alternative(${four}, ${`${date}T19:15:00Z`}, 'race test')`;
    } catch (error) {
      refused = error;
    } finally {
      await platform.release();
    }
    assert(refused instanceof postgres.PostgresError, `the operator is refused: ${refused}`);
    assertEquals(refused.code, "AS008", `as a moment's business, to try again: ${refused.message}`);
    assert(performance.now() - started < 1000, "without waiting on the platform's transaction");
    const [{ outcome }] = await sql`
      select ops.accept_alternative(${four}, ${`${date}T19:15:00Z`}, 'race test') ->> 'outcome' as outcome`;
    assertEquals(
      outcome,
      "confirmed",
      "once the platform's change is in, the same alternative seats the four",
    );
  });
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
