// The rollout plan, end to end: shadow mode compares without writing V3 results, the kill switch and
// "off" take effect on the very next booking, and percentage rollout is stable as it grows.
import { createHash } from "node:crypto";
import { assert, assertEquals } from "../../../shared/testing/assert.ts";
import { DEFAULT_STRATEGY } from "../../../shared/engine/strategies/registry.ts";
import {
  connect,
  createRestaurant,
  someDay,
  type TestRestaurant,
  waitForTerminal,
} from "../../../shared/testing/stack.ts";

const sql = connect(8);
const ACTOR = "rollout test";

async function restoreDefaults() {
  await sql`select ops.set_kill_switch(false, ${ACTOR}, 'test cleanup')`;
  await sql`select ops.set_default_mode('v3', ${ACTOR}, 'test cleanup')`;
  await sql`select ops.set_rollout_percentage(100, ${ACTOR}, 'test cleanup')`;
  await sql`select ops.set_shadow_candidate('v3', ${ACTOR}, 'test cleanup')`;
}

// A 6-top and a 4-top: for a party of four the legacy first-fit takes the 6-top, V3 the 4-top.
const tables = [{ number: "T1", capacity: 6 }, { number: "T2", capacity: 4 }];

Deno.test("shadow: legacy assigns, V3 plans on the same snapshot, only the comparison is stored", async () => {
  const r = await createRestaurant(sql, { tables });
  await sql`select ops.set_restaurant_mode(${r.id}, 'shadow', ${ACTOR}, 'shadow test')`;
  const day = someDay();
  const id = await r.insertBooking(4, `${day}T19:00:00Z`);
  assertEquals((await waitForTerminal(sql, [id])).get(id), "confirmed");

  const [b] = await sql`select assignment_mode, assignment_strategy from public.bookings where id = ${id}`;
  assertEquals([b.assignment_mode, b.assignment_strategy], ["shadow", "first_fit"]);
  const held = await sql`
    select t.table_number, a.assigned_by from public.booking_table_assignments a
      join public.restaurant_tables t on t.id = a.table_id where a.booking_id = ${id}`;
  assertEquals(
    held.map((h) => [h.table_number, h.assigned_by]),
    [["T1", "coordinator:first_fit"]],
    "the legacy plan is the one written",
  );

  const [c] = await sql`select * from public.shadow_comparisons where booking_id = ${id}`;
  assertEquals(c.experiment, "v3");
  assertEquals([c.primary_strategy, c.candidate_strategy], ["first_fit", DEFAULT_STRATEGY]);
  assertEquals(c.candidate_tables, [r.tableIds.get("T2")], "V3 would have taken the 4-top");
  assertEquals(c.match, "same_decision_different_tables");
  assertEquals(Number(c.score_diff), -2, "two fewer wasted seats");
  // Both plans are timed inside the attempt, so neither can exceed the attempt's own duration (whole ms).
  const [attempt] = await sql`
    select duration_ms from public.booking_assignment_attempts where booking_id = ${id} and result = 'success'`;
  assert(
    Number(c.primary_ms) <= attempt.duration_ms + 1 && Number(c.candidate_ms) <= attempt.duration_ms + 1,
    `planning times ${c.primary_ms} / ${c.candidate_ms} ms within the attempt's ${attempt.duration_ms} ms`,
  );

  // The plan's shadow-phase check: the legacy path's auto_assign.* events only, no assignment.coordinator.*.
  const events = await sql<{ source: string; event_type: string }[]>`
    select source, event_type from public.observability_events
     where booking_id = ${id} and source <> 'assignment.state_machine' order by id`;
  assertEquals([...new Set(events.map((e) => e.source))], ["auto_assign"], "only auto_assign events");
  assertEquals(
    events.map((e) => e.event_type),
    [
      "auto_assign.started",
      "auto_assign.attempt.start",
      "auto_assign.attempt",
      "auto_assign.succeeded",
      "auto_assign.summary",
    ],
    "the runbook's auto_assign.attempt.start, then legacy's success and its summary",
  );

  // A/A: the candidate is legacy itself, on the same snapshot. Where V3 took the 4-top, A/A must take the
  // 6-top as legacy did: it measures planner nondeterminism and timing noise, not a different engine.
  await sql`select ops.set_shadow_candidate('aa', ${ACTOR}, 'noise floor')`;
  try {
    const again = await r.insertBooking(4, `${day}T21:30:00Z`);
    await waitForTerminal(sql, [again]);
    const [aa] = await sql`
      select experiment, candidate_strategy, match, candidate_tables, primary_ms, candidate_ms
        from public.shadow_comparisons where booking_id = ${again}`;
    assertEquals([aa.experiment, aa.candidate_strategy, aa.match], ["aa", "first_fit", "same_tables"]);
    assertEquals(aa.candidate_tables, [r.tableIds.get("T1")]);
    const report = await sql`
      select experiment, comparisons, primary_p95_ms, candidate_p95_ms, ms_diff_p50
        from ops.shadow_report() where restaurant_id = ${r.id} order by experiment`;
    assertEquals(report.map((x) => [x.experiment, Number(x.comparisons)]), [["aa", 1], ["v3", 1]]);
    assertEquals(
      [Number(report[0].primary_p95_ms), Number(report[0].candidate_p95_ms), Number(report[0].ms_diff_p50)],
      [
        Number(aa.primary_ms),
        Number(aa.candidate_ms),
        Math.round((aa.candidate_ms - aa.primary_ms) * 1000) / 1000,
      ],
      "the report's timings are the comparison's own",
    );
  } finally {
    await restoreDefaults();
  }
});

Deno.test("the kill switch routes the very next booking to legacy, and releasing it routes the next back", async () => {
  const r = await createRestaurant(sql, { tables });
  const day = someDay();
  try {
    await sql`select ops.set_kill_switch(true, ${ACTOR}, 'incident drill')`;
    const during = await r.insertBooking(4, `${day}T18:00:00Z`);
    await waitForTerminal(sql, [during]);
    await sql`select ops.set_kill_switch(false, ${ACTOR}, 'drill over')`;
    const after = await r.insertBooking(4, `${day}T21:00:00Z`);
    await waitForTerminal(sql, [after]);
    const rows = await sql`
      select id, assignment_mode, assignment_strategy from public.bookings where id in (${during}, ${after})`;
    const byId = new Map(rows.map((x) => [x.id, [x.assignment_mode, x.assignment_strategy]]));
    assertEquals(byId.get(during), ["legacy", "first_fit"]);
    assertEquals(byId.get(after), ["v3", DEFAULT_STRATEGY]);
    const [log] = await sql`
      select actor, reason, new_value from ops.rollout_log where setting = 'kill_switch' order by changed_at desc limit 1`;
    assertEquals([log.actor, log.reason, log.new_value], [ACTOR, "drill over", false]);
  } finally {
    await restoreDefaults();
  }
});

Deno.test("'off' leaves bookings for manual assignment, which ops can then do", async () => {
  const r = await createRestaurant(sql, { tables });
  await sql`select ops.set_restaurant_mode(${r.id}, 'off', ${ACTOR}, 'no automation here')`;
  const id = await r.insertBooking(4, `${someDay()}T19:00:00Z`);
  assertEquals((await waitForTerminal(sql, [id])).get(id), "manual_review");
  const [q] = await sql`select reason_code, free_tables_that_fit from ops.manual_review_queue(${r.id})`;
  assertEquals(q.reason_code, "automatic_assignment_off");
  assertEquals(q.free_tables_that_fit, [["T2"], ["T1"]], "the tightest free table is suggested first");
  const [{ n }] =
    await sql`select count(*)::int as n from public.booking_table_assignments where booking_id = ${id}`;
  assertEquals(n, 0, "nothing was assigned automatically");
  const [done] = await sql`select ops.assign_tables(${id}, array['T2'], ${ACTOR}) as r`;
  assertEquals(done.r.outcome, "confirmed");
});

/**
 * A restaurant's rollout bucket as private.rollout_bucket computes it, worked out here independently: the
 * first 32 bits of md5(salt || ':' || id), unsigned, mod 100.
 */
function rolloutBucket(restaurantId: string, salt: string): number {
  const digest = createHash("md5").update(`${salt}:${restaurantId}`).digest("hex");
  return parseInt(digest.slice(0, 8), 16) % 100;
}

Deno.test("rollout at 10% puts exactly the restaurants of buckets 0–9 on v3, and at 50% those of 0–49", async () => {
  const [{ salt }] = await sql<{ salt: string }[]>`select rollout_salt as salt from private.rollout_settings`;
  // One restaurant per chosen bucket, on both sides of each boundary: ids counted up from a prefix of this
  // run's own (restaurants outlive a run), the first to land in each bucket taken.
  const BUCKETS = [0, 4, 9, 10, 11, 27, 49, 50, 51, 73, 99];
  const prefix = crypto.randomUUID().slice(0, 24);
  const idFor = new Map<number, string>();
  for (let n = 0; idFor.size < BUCKETS.length; n++) {
    const id = `${prefix}${n.toString(16).padStart(12, "0")}`;
    const bucket = rolloutBucket(id, salt);
    if (BUCKETS.includes(bucket) && !idFor.has(bucket)) idFor.set(bucket, id);
  }
  const restaurants: TestRestaurant[] = [];
  for (const bucket of BUCKETS) {
    restaurants.push(
      await createRestaurant(sql, { id: idFor.get(bucket), tables: [{ number: "A", capacity: 4 }] }),
    );
  }
  const expected = (percentage: number) =>
    BUCKETS.filter((b) => b < percentage).map((b) => idFor.get(b)!).sort();
  const day = someDay();
  const v3At = async (percentage: number, time: string) => {
    await sql`select ops.set_rollout_percentage(${percentage}, ${ACTOR}, ${`phase ${percentage}%`})`;
    const ids = await Promise.all(restaurants.map((r) => r.insertBooking(2, `${day}T${time}:00Z`)));
    await waitForTerminal(sql, ids, 60_000);
    const rows = await sql`
      select restaurant_id from public.bookings where id = any(${ids}::uuid[]) and assignment_mode = 'v3'`;
    return rows.map((x) => x.restaurant_id as string).sort();
  };
  try {
    await sql`select ops.set_default_mode('legacy', ${ACTOR}, 'rollout test baseline')`;
    const at10 = await v3At(10, "12:00");
    const at50 = await v3At(50, "19:00");
    assertEquals(at10, expected(10), "at 10%: buckets 0, 4 and 9 on v3; 10 and above not");
    assertEquals(at50, expected(50), "at 50%: buckets up to 49 on v3; 50 and above not");
    assertEquals(
      at10.filter((id) => !at50.includes(id)),
      [],
      "every restaurant in at 10% is still in at 50%",
    );
  } finally {
    await restoreDefaults();
    await sql.end();
  }
});
