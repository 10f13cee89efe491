// Nothing is lost when the coordinator is down and Postgres crashes while bookings arrive: the HTTP
// nudges fail (and pg_net's unlogged queue is emptied by the crash), yet once the function is back the
// pg_cron sweeper gets the queue moving again and every booking is confirmed. Which path starts a given
// booking — a sweeper dispatch, or the running coordinator draining due bookings after a dispatch (of this
// booking or any other) woke it — is not what recovery means, so the test does not pin it down.
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
    const [{ restarted }] = await sql<{ restarted: Date }[]>`select clock_timestamp() as restarted`;
    await run("stack", "start-functions");

    const states = await waitForTerminal(sql, ids, 100_000);
    assertEquals(
      [...states.values()],
      ["confirmed", "confirmed", "confirmed", "confirmed"],
      "all four confirmed",
    );
    // Every attempt of these bookings started after the restart, from the sweeper or the drain it woke.
    const starts = await sql<{ trigger: string; at: Date }[]>`
      select context ->> 'trigger' as trigger, created_at as at from public.observability_events
       where booking_id = any(${ids}::uuid[]) and created_at >= ${started}
         and event_type in ('coordinator.start', 'auto_assign.attempt.start')`;
    assert(starts.length >= 4, "each booking was started");
    assertEquals(
      starts.map((s) => s.trigger).filter((t) => t !== "sweeper" && t !== "drain"),
      [],
      "no booking was started by its lost insert nudge",
    );
    assert(starts.every((s) => s.at >= restarted), "and none before the restart");
    const [{ sweeps }] = await sql`
      select count(*)::int as sweeps from public.observability_events
       where event_type = 'sweeper.run' and created_at >= ${restarted} and (context ->> 'dispatched')::int > 0`;
    assert(sweeps >= 1, "a sweep dispatched due bookings after the restart");
  } finally {
    await run("stack", "start-functions");
    await sql.end();
  }
});
