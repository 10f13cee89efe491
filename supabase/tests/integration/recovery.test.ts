// Nothing is lost when the coordinator is down and Postgres crashes while bookings arrive: the HTTP
// nudges fail (and pg_net's unlogged queue is emptied by the crash), yet the pg_cron sweeper re-dispatches
// every booking once the function is back, and each one reaches a terminal state.
import { assert, assertEquals } from "../../../shared/testing/assert.ts";
import {
  connect,
  createRestaurant,
  someDay,
  waitFor,
  waitForTerminal,
} from "../../../shared/testing/stack.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;

async function run(script: string, ...args: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command(`${ROOT}scripts/${script}`, {
    args,
    stdout: "null",
    stderr: "piped",
  })
    .output();
  if (code !== 0) {
    throw new Error(`scripts/${script} ${args.join(" ")} failed: ${new TextDecoder().decode(stderr)}`);
  }
}

Deno.test("bookings that arrive while the function is down and Postgres crashes are all confirmed later", async () => {
  let sql = connect(2);
  const r = await createRestaurant(sql, {
    tables: Array.from({ length: 6 }, (_, i) => ({ number: `V${i + 1}`, capacity: 4 })),
  });
  const day = someDay();
  // Everything this test counts is scoped to its own bookings and to what happened after this moment.
  const [{ started }] = await sql<{ started: Date }[]>`select clock_timestamp() as started`;
  await run("stack", "stop-functions");
  try {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await r.insertBooking(2 + (i % 3), `${day}T19:00:00Z`));
    // The nudges go out and fail: nobody is listening.
    await waitFor("the failed deliveries to be recorded", async () => {
      const [{ n }] = await sql`
        select count(*)::int as n from net._http_response where error_msg is not null and created >= ${started}`;
      return n >= 4 ? true : undefined;
    });
    const [{ waiting }] = await sql`
      select count(*)::int as waiting from public.bookings where id = any(${ids}::uuid[]) and assignment_state = 'created'`;
    assertEquals(waiting, 4, "no booking moved while the coordinator was down");

    await sql.end();
    await run("db", "crash");
    sql = connect(2);
    await run("stack", "start-functions");

    const states = await waitForTerminal(sql, ids, 100_000);
    assertEquals([...states.values()], ["confirmed", "confirmed", "confirmed", "confirmed"]);
    // Only the sweeper sets last_dispatched_at. It dispatches every due booking in one sweep, so it
    // normally reaches all four; one that fell due a moment after a sweep may be claimed by the running
    // coordinator instead, which only runs because the sweeper woke it.
    const [{ swept }] = await sql`
      select count(*)::int as swept from public.bookings
       where id = any(${ids}::uuid[]) and last_dispatched_at >= ${started}`;
    assert(swept >= 1, "the sweeper re-dispatched the test's bookings");
    const triggers = await sql<{ trigger: string }[]>`
      select distinct context ->> 'trigger' as trigger from public.observability_events
       where booking_id = any(${ids}::uuid[]) and event_type = 'coordinator.start'`;
    assertEquals(
      triggers.map((t) => t.trigger).filter((t) => t !== "sweeper" && t !== "drain"),
      [],
      "no booking was started by its lost insert nudge",
    );
  } finally {
    await run("stack", "start-functions");
    await sql.end();
  }
});
