// Nothing is lost when the coordinator is down and Postgres crashes while bookings arrive: the HTTP
// nudges fail (and pg_net's unlogged queue is emptied by the crash), yet once the function is back the
// pg_cron sweeper gets the queue moving again and every booking is confirmed. Which path starts a given
// booking — a sweeper dispatch, or the running coordinator draining due bookings after a request (a dispatch
// of any booking, or a sweep's re-seating nudge) woke it — is not what recovery means, so the test does not
// pin it down.
import { assert, assertEquals } from "../../../shared/testing/assert.ts";
import { startHttpTarget } from "../../../shared/testing/http-target.ts";
import {
  connect,
  createRestaurant,
  runScript,
  someDay,
  STACK_DIR,
  waitFor,
  waitForSweeperAfterRestart,
  waitForTerminal,
} from "../../../shared/testing/stack.ts";

Deno.test("bookings that arrive while the function is down and Postgres crashes are all confirmed later", async () => {
  let sql = connect(2);
  // Slots for all four, so each is dispatched at insert (none joins the restaurant's queue) and each nudge is lost.
  const r = await createRestaurant(sql, {
    tables: Array.from({ length: 6 }, (_, i) => ({ number: `V${i + 1}`, capacity: 4 })),
    maxParallel: 4,
  });
  const day = someDay();
  // Everything this test counts is scoped to its own bookings and to what happened after this moment.
  const [{ started }] = await sql<{ started: Date }[]>`select clock_timestamp() as started`;
  await runScript("stack", "stop-functions");
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
    await runScript("db", "crash");
    sql = connect(2);
    const [{ restarted }] = await sql<{ restarted: Date }[]>`select clock_timestamp() as restarted`;
    await runScript("stack", "start-functions");
    const [{ serving }] = await sql<{ serving: Date }[]>`select clock_timestamp() as serving`;

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
    // Nothing but the sweeper sends the function a request after the restart: a sweep's dispatch of due
    // bookings, or its nudge for a review (other tests' reviews) waiting for a re-seating search, sent once the
    // function was serving again, whose request drains the due bookings too.
    const [{ sweeps, nudges }] = await sql`
      select (select count(*)::int from public.observability_events
               where event_type = 'sweeper.run' and created_at >= ${restarted}
                 and (context ->> 'dispatched')::int > 0) as sweeps,
             (select count(*)::int from private.reseating_nudges where last_at >= ${serving}) as nudges`;
    assert(
      sweeps + nudges >= 1,
      "a sweep dispatched due bookings, or nudged the function, after the restart",
    );
  } finally {
    await runScript("stack", "start-functions");
    await sql.end();
  }
});

// pg_net's worker comes back with Postgres; so must the stand-in's, with nobody restarting it. Requests
// keep being queued through each crash; every one queued after the last crash is delivered.
Deno.test("the pg_net worker delivers again after Postgres crashes under load, without being restarted", async () => {
  const target = await startHttpTarget();
  const pidFile = `${STACK_DIR}/pg-net-worker.pid`;
  const supervisor = Deno.readTextFileSync(pidFile).trim();
  let flowing = true;
  let queued = 0;
  const queue = async () => {
    const sql = connect(1);
    while (flowing) {
      await sql`select net.http_post(${`${target.url}/flow/${queued}`}, '{}'::jsonb, timeout_milliseconds => 2000)`
        .then(() => queued++, () => new Promise((r) => setTimeout(r, 100))); // down during the crash
      await new Promise((r) => setTimeout(r, 20));
    }
    await sql.end();
  };
  const flow = queue();
  try {
    for (let crash = 0; crash < 2; crash++) {
      const before = queued;
      await waitFor(
        "requests to flow before the crash",
        () => Promise.resolve(queued >= before + 10 || undefined),
      );
      await runScript("db", "crash");
    }
    const sql = connect(1);
    try {
      const after: string[] = [];
      for (let i = 0; i < 5; i++) {
        const [{ id }] = await sql<{ id: string }[]>`
          select net.http_post(${`${target.url}/after-crash/${i}`}, '{}'::jsonb, timeout_milliseconds => 2000) as id`;
        after.push(id);
      }
      const delivered = await waitFor("the requests queued after the crashes to be delivered", async () => {
        const [{ n }] = await sql`
          select count(*)::int as n from net._http_response where id = any(${after}::bigint[]) and status_code = 200`;
        return n === after.length ? n : undefined;
      }, 30_000);
      assertEquals(delivered, 5, "every request queued after the crashes was delivered and recorded");
      await waitForSweeperAfterRestart(sql);
      assertEquals(
        [0, 1, 2, 3, 4].map((i) => target.hits(`/after-crash/${i}`)),
        [1, 1, 1, 1, 1],
        "each exactly once",
      );
    } finally {
      await sql.end();
    }
    assertEquals(Deno.readTextFileSync(pidFile).trim(), supervisor, "nobody restarted the worker");
  } finally {
    flowing = false;
    await flow;
    await target.close();
  }
});
