// ops.pipeline_metrics' body planned for each call's window (20261231430000) gives every figure the body before
// it gave (20261231080000, read from that migration and created in a transaction of this test's own): compared
// on bookings this test sends through the running pipeline, on every other booking, event and comparison the
// database holds from the tests before it, and on rows of each kind the metrics read that a run here does not
// write (another mode, a booking no attempt reached, a breaker opening, waits, shadow comparisons, a stuck one).
import { assert, assertEquals } from "../../../shared/testing/assert.ts";
import { connect, createRestaurant, someDay, waitForTerminal } from "../../../shared/testing/stack.ts";

const sql = connect(2);
const BEFORE = "20261231080000_the_rollout_gates_compare_exact_shares_and_see_a_missing_transition.sql";

/** The body before, as that migration wrote it, created as pg_temp.metrics_before. */
function bodyBefore(): string {
  const text = Deno.readTextFileSync(new URL(`../../migrations/${BEFORE}`, import.meta.url));
  const start = text.indexOf("create or replace function private.pipeline_metrics_unchecked(");
  const end = text.indexOf("\n$$;", start);
  assert(start >= 0 && end > start, `the body before is in ${BEFORE}`);
  return text.slice(start, end + 4).replace("private.pipeline_metrics_unchecked(", "pg_temp.metrics_before(");
}

/** The figures read below, of the many the metrics give. */
interface Metrics {
  bookings: number;
  confirmed: number;
  manual_review: number;
  latency_ms: { n: number };
  lock_wait_p95_ms: number | null;
  stuck: number;
  circuit_opens: number;
  rate_limited: number;
  coordinator_errors: number;
  shadow: Record<string, Record<string, number>>;
  events: { bookings_with_transitions: number };
  switched_off?: Record<string, number>;
}

type Compared = { label: string; before: Metrics; after: Metrics };

/** Ends the transaction, handing out what it compared. */
class Rollback {
  constructor(readonly rows: Compared[]) {}
}

Deno.test("the metrics give every figure the body before them gave, for every window, restaurant and mode", async () => {
  const r = await createRestaurant(sql, {
    tables: [{ number: "M1", capacity: 4 }, { number: "M2", capacity: 2 }],
  });
  const day = someDay();
  // Parties of 2, 4 and 6 at three times: some seated, the sixes (no table seats six) sent to review.
  const ids: string[] = [];
  for (const [i, party] of [2, 4, 6, 2, 4, 6].entries()) {
    ids.push(await r.insertBooking(party, `${day}T${18 + (i % 3)}:00:00Z`));
  }
  const states = await waitForTerminal(sql, ids, 60_000);
  assert(
    [...states.values()].includes("confirmed") && [...states.values()].includes("manual_review"),
    "both ends",
  );

  const compared = await sql.begin(async (tx) => {
    await tx.unsafe(bodyBefore());
    const [first, second, third] = ids;
    await tx`update public.bookings set assignment_mode = 'legacy' where id = ${first}`;
    await tx`update public.bookings set assignment_mode = null where id = ${ids[5]}`;
    await tx`
      insert into public.observability_events (source, event_type, context, restaurant_id, booking_id)
      values ('assignment.coordinator', 'coordinator.circuit_opened', '{}', ${r.id}, null),
             ('assignment.coordinator', 'coordinator.lock_contention', '{"lock": "restaurant"}', ${r.id}, ${second}),
             ('assignment.coordinator', 'coordinator.retry', '{"reason": "rate_limited"}', ${r.id}, ${second}),
             ('auto_assign', 'auto_assign.attempt.start', '{"lock_wait_ms": 250, "slot_wait_ms": 50}', ${r.id}, ${first}),
             ('auto_assign', 'auto_assign.summary', '{"result": "succeeded"}', ${r.id}, ${first}),
             ('auto_assign', 'auto_assign.attempt_error', '{}', ${r.id}, ${first})`;
    await tx`
      insert into public.shadow_comparisons (booking_id, restaurant_id, experiment, primary_strategy,
                                             candidate_strategy, primary_decision, candidate_decision,
                                             primary_tables, candidate_tables, primary_ms, candidate_ms)
      values (${second}, ${r.id}, 'v3', 'first_fit', 'scarcity_fit', 'assign', 'escalate', '{}', '{}', 1.5, 3),
             (${third}, ${r.id}, 'aa', 'first_fit', 'first_fit', 'assign', 'assign', '{}', '{}', 1, 1)`;
    // An earlier attempt of the same booking, legacy failing and V3 throwing: an attempt, not a booking more.
    await tx`
      insert into public.shadow_comparisons (booking_id, restaurant_id, experiment, primary_strategy,
                                             candidate_strategy, primary_decision, candidate_decision,
                                             primary_tables, candidate_tables, primary_ms, candidate_ms, created_at)
      values (${second}, ${r.id}, 'v3', 'first_fit', 'scarcity_fit', 'escalate', 'error', '{}', '{}', 2.5, 5,
              now() - interval '1 second')`;
    // Stuck: waiting for an hour with nothing happening.
    const stuck = await r.insertBooking(2, `${day}T21:00:00Z`, tx);
    await tx`set local session_replication_role = replica`;
    await tx`update public.bookings set updated_at = now() - interval '1 hour' where id = ${stuck}`;
    // The narrow window starts at this test's first booking: one booking made before it whose events fall
    // inside, and an event before it about a booking inside.
    const [{ from }] = await tx<{ from: Date }[]>`
      select min(created_at) as from from public.bookings where id = any(${ids}::uuid[])`;
    await tx`update public.bookings set created_at = ${from}::timestamptz - interval '1 hour' where id = ${third}`;
    await tx`
      insert into public.observability_events (created_at, source, event_type, context, restaurant_id, booking_id)
      values (${from}::timestamptz - interval '1 minute', 'assignment.state_machine',
              'booking.assignment_state_transition', '{"to": "confirmed"}', ${r.id}, ${second})`;
    // Reviews a restaurant's switch made: the only review of one still in review (a six, which no table seats),
    // and one of a booking confirmed since (sent back once the restaurant was on again; whichever couple or four
    // the pipeline seated: which of them lost a race for a table varies); and beside another review, which keeps
    // that booking in.
    const seated = ids.find((id) => states.get(id) === "confirmed")!;
    await tx`
      update public.booking_assignment_state_history set reason = 'automatic_assignment_off: switched off'
       where booking_id = ${ids[2]} and to_state = 'manual_review'`;
    await tx`
      insert into public.booking_assignment_state_history (booking_id, from_state, to_state, version, reason, actor)
      select id, 'assignment_in_progress', 'manual_review', 1000, 'automatic_assignment_off: switched off', 'test'
        from unnest(${[seated, ids[5]]}::uuid[]) id`;
    await tx`set local session_replication_role = origin`;

    // Read as the Data API's role reads it, through ops.pipeline_metrics (the body before is the owner's, its
    // definer).
    await tx`set local role service_role`;
    const rows = await tx<Compared[]>`
      select format('%s window, restaurant %s, mode %s', w.name, coalesce(w.rid::text, 'any'),
                    coalesce(w.mode, 'any')) as label,
             pg_temp.metrics_before(w.from, now() + interval '1 minute', w.rid, w.mode) as before,
             ops.pipeline_metrics(w.from, now() + interval '1 minute', w.rid, w.mode) as after
        from (values ('wide', now() - interval '30 days'), ('narrow', ${from}::timestamptz)) f(name, "from")
       cross join (values (null::uuid), (${r.id}::uuid)) r(rid)
       cross join (values (null::text), ('off'), ('legacy'), ('shadow'), ('v3')) m(mode)
       cross join lateral (select f.name, f.from, r.rid, m.mode) w`;
    throw new Rollback(rows);
  }).catch((end) => {
    if (end instanceof Rollback) return end.rows;
    throw end;
  });

  assertEquals(compared.length, 20);
  // Every figure the body before gave but the shadow rates, which 20261231450000 counts by booking, and beside
  // them the switched-off restaurants' share.
  for (
    const { label, before: { shadow: _, ...before }, after: { switched_off: __, shadow: ___, ...after } }
      of compared
  ) {
    assertEquals(after, before, label);
  }
  // What was compared holds something in every part, or the comparison proves little.
  const whole = compared.find((c) => c.label === `wide window, restaurant ${r.id}, mode any`)!.after;
  assert(whole.bookings >= 7 && whole.confirmed > 0 && whole.manual_review > 0, JSON.stringify(whole));
  assert(
    whole.latency_ms.n > 0 && whole.lock_wait_p95_ms !== null && whole.stuck >= 1,
    JSON.stringify(whole),
  );
  assert(
    whole.circuit_opens === 1 && whole.rate_limited >= 1 && whole.coordinator_errors === 1,
    JSON.stringify(whole),
  );
  assert(
    Object.keys(whole.shadow).length === 2 && whole.events.bookings_with_transitions > 0,
    JSON.stringify(whole),
  );
  // Rates over bookings, by each one's last attempt; errors and durations over every attempt.
  assertEquals(whole.shadow.v3, {
    comparisons: 1,
    attempts_compared: 2,
    primary_assign_pct: 100,
    candidate_assign_pct: 0,
    primary_escalate_pct: 0,
    candidate_escalate_pct: 100,
    same_tables_pct: 0,
    different_decision_pct: 100,
    candidate_errors: 1,
    primary_avg_ms: 2,
    candidate_avg_ms: 4,
  });
  const wholeBefore = compared.find((c) => c.label === `wide window, restaurant ${r.id}, mode any`)!.before;
  assertEquals(
    [wholeBefore.shadow.v3.comparisons, wholeBefore.shadow.v3.primary_escalate_pct],
    [2, 50],
    "the body before counted the attempt as a booking more",
  );
  assertEquals(
    whole.switched_off,
    { bookings: 2, confirmed: 1, not_cancelled: 2, decided: 2, sent_to_review: 2 },
    "the share a gate of the pipeline's own work takes out",
  );
  const legacy = compared.find((c) => c.label === `wide window, restaurant ${r.id}, mode legacy`)!.after;
  assertEquals(
    [legacy.bookings, legacy.circuit_opens],
    [1, 1],
    "a mode of its own takes its bookings and the breaker",
  );

  // Every booking counts in exactly one mode: the one it was decided in, or for one no attempt reached (the stuck
  // one, and the one whose mode was taken away), the mode its restaurant runs now.
  const inModes = ["off", "legacy", "shadow", "v3"].map((mode) =>
    compared.find((c) => c.label === `wide window, restaurant ${r.id}, mode ${mode}`)!.after.bookings
  );
  assertEquals(inModes.reduce((a, b) => a + b, 0), whole.bookings, `every booking in one mode: ${inModes}`);
  const narrow = compared.find((c) => c.label === `narrow window, restaurant ${r.id}, mode any`)!.after;
  assertEquals(
    narrow.bookings,
    whole.bookings - 1,
    "the narrow window leaves out the booking made before it",
  );
});

// Closed when the test process ends, not by a test of its own (one that asserts nothing would count as passed).
globalThis.addEventListener("unload", () => void sql.end());
