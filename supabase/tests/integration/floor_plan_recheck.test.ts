// A floor-plan change against the running stack: the platform takes a table out of service through the Data
// API, and with nothing else done the sweeper's re-check sends the confirmed booking on it back to be planned,
// and the real coordinator seats it at the table still in service, with the reason in its history.
import { assert, assertEquals } from "../../../shared/testing/assert.ts";
import {
  activeTables,
  connect,
  createRestaurant,
  holdOpen,
  holdRestaurantLock,
  localDataApi,
  someDay,
  waitFor,
  waitForTerminal,
} from "../../../shared/testing/stack.ts";

const sql = connect(2);

Deno.test("a table taken out of service: the sweeper's re-check moves its confirmed booking to another table", async () => {
  const { platform } = await localDataApi();
  const r = await createRestaurant(sql, {
    tables: [{ number: "F1", capacity: 2 }, { number: "F2", capacity: 2 }],
  });
  const booking = await r.insertBooking(2, `${someDay()}T19:00:00Z`);
  assertEquals((await waitForTerminal(sql, [booking], 30_000)).get(booking), "confirmed");
  const [first] = await activeTables(sql, booking);

  const { error } = await platform.from("restaurant_tables").update({ out_of_service: true })
    .eq("restaurant_id", r.id).eq("table_number", first);
  assertEquals(error, null, "the platform takes the table out of service");

  // The re-check waits for the floor plan to be left alone for 10 s, then runs within a sweep (every 5 s).
  // State and tables come from one statement: read apart, the re-check could release the tables in between.
  const moved = await waitFor("the booking to be seated at the other table", async () => {
    const [b] = await sql<{ state: string; tables: string[] }[]>`
      select b.assignment_state as state,
             array(select t.table_number from public.booking_table_assignments a
                     join public.restaurant_tables t on t.id = a.table_id
                    where a.booking_id = b.id and a.released_at is null order by t.table_number) as tables
        from public.bookings b where b.id = ${booking}`;
    if (b.state !== "confirmed") return undefined;
    assert(b.tables.length > 0, "a confirmed booking always holds a table");
    return b.tables[0] !== first ? b.tables : undefined;
  }, 60_000);
  assertEquals(moved, [first === "F1" ? "F2" : "F1"], "seated at the table still in service");
  const reasons = await sql<{ reason: string | null }[]>`
    select reason from public.booking_assignment_state_history where booking_id = ${booking} and to_state = 'assignment_pending'`;
  assert(
    reasons.some((h) => h.reason?.startsWith("rule_changed: the floor plan changed")),
    `the history says why: ${JSON.stringify(reasons)}`,
  );
  const [{ marks }] = await sql`
    select count(*)::int as marks from private.floor_plan_rechecks where restaurant_id = ${r.id}`;
  assertEquals(marks, 0, "and the restaurant is no longer waiting for a re-check");
});

Deno.test("a table added: the sweeper's re-check plans again the party no table fitted, and it is seated (20261228100000)", async () => {
  const { platform } = await localDataApi();
  const r = await createRestaurant(sql, { tables: [{ number: "G1", capacity: 2 }] });
  const booking = await r.insertBooking(4, `${someDay()}T19:00:00Z`);
  assertEquals((await waitForTerminal(sql, [booking], 30_000)).get(booking), "manual_review");
  const [{ reason }] =
    await sql`select manual_review_reason as reason from public.bookings where id = ${booking}`;
  assert(reason.startsWith("party_too_large:"), `the engine's verdict: ${reason}`);

  const [{ zone }] =
    await sql`select zone_id as zone from public.restaurant_tables where restaurant_id = ${r.id}`;
  const { error } = await platform.from("restaurant_tables")
    .insert({ restaurant_id: r.id, zone_id: zone, table_number: "G2", capacity: 4, max_party_size: 4 });
  assertEquals(error, null, "the platform adds a table for four");

  // The re-check waits for the floor plan to be left alone for 10 s, then runs within a sweep (every 5 s).
  const seated = await waitFor("the party to be seated", async () => {
    const [b] = await sql<
      { state: string }[]
    >`select assignment_state as state from public.bookings where id = ${booking}`;
    return b.state === "confirmed" ? await activeTables(sql, booking) : undefined;
  }, 60_000);
  assertEquals(seated, ["G2"], "at the table added");
  const reasons = await sql<{ reason: string | null }[]>`
    select reason from public.booking_assignment_state_history where booking_id = ${booking} and to_state = 'assignment_pending'`;
  assert(
    reasons.some((h) => h.reason?.startsWith("floor_plan_adds_room:")),
    `the history says why: ${JSON.stringify(reasons)}`,
  );
});

Deno.test("a re-check that meets the restaurant's lock held elsewhere waits a second at most and tries again later", async () => {
  // A booking the change breaks, so the re-check has something to do once it has the lock.
  const r = await createRestaurant(sql, { tables: [{ number: "H1", capacity: 2 }] });
  await sql`select ops.set_restaurant_mode(${r.id}, 'off', 'race test', 'operators seat by hand')`;
  const booking = await r.insertBooking(2, `${someDay()}T19:00:00Z`);
  await waitForTerminal(sql, [booking], 10_000);
  await sql`select ops.assign_tables(${booking}, array['H1'], 'race test')`;
  await sql`update public.restaurant_tables set out_of_service = true where restaurant_id = ${r.id}`;
  // The change marked the restaurant just now: the sweeper leaves it for 10 s, while this test's calls look
  // a minute ahead and take it at once.
  const [{ marked }] =
    await sql`select changed_at as marked from private.floor_plan_rechecks where restaurant_id = ${r.id}`;
  const lock = await holdRestaurantLock(sql, r.id);
  try {
    const started = performance.now();
    const [{ result }] = await sql`
      select private.recheck_floor_plans(clock_timestamp() + interval '1 minute', interval '10 seconds', ${r.id}) as result`;
    const waited = performance.now() - started;
    assertEquals(result.busy, true, "the busy restaurant is left for later");
    assert(waited < 5_000, `it waited ${Math.round(waited)} ms, not until the lock was released`);
    const [mark] =
      await sql`select changed_at from private.floor_plan_rechecks where restaurant_id = ${r.id}`;
    assert(mark && mark.changed_at.getTime() > marked.getTime(), "its mark goes to the back of the queue");
    const [b] = await sql`select assignment_state from public.bookings where id = ${booking}`;
    assertEquals(b.assignment_state, "confirmed", "and nothing was changed");
  } finally {
    await lock.release();
  }
  const [{ result }] = await sql`
    select private.recheck_floor_plans(clock_timestamp() + interval '1 minute', interval '10 seconds', ${r.id}) as result`;
  assertEquals(
    [result.restaurants, result.replanned],
    [1, 1],
    `once the lock is free, the re-check runs: ${JSON.stringify(result)}`,
  );
});

Deno.test("a busy restaurant whose change waited over a minute is tried again 10 s later, not at once (20261231180000)", async () => {
  const r = await createRestaurant(sql, { tables: [{ number: "J1", capacity: 2 }] });
  await sql`select ops.set_restaurant_mode(${r.id}, 'off', 'race test', 'operators seat by hand')`;
  const booking = await r.insertBooking(2, `${someDay()}T19:00:00Z`);
  await waitForTerminal(sql, [booking], 10_000);
  await sql`select ops.assign_tables(${booking}, array['J1'], 'race test')`;
  await sql`update public.restaurant_tables set out_of_service = true where restaurant_id = ${r.id}`;
  const recheck = async (tx: typeof sql, ahead: string) => {
    const [{ result }] = await tx`
      select private.recheck_floor_plans(clock_timestamp() + ${ahead}::interval, interval '10 seconds', ${r.id}) as result`;
    return result;
  };
  const lock = await holdRestaurantLock(sql, r.id);
  try {
    // Its change has waited two minutes (a platform writing its floor plan every few seconds), its last write
    // 3 s ago: due by the minute's bound. Set in the transaction that re-checks it, so the stack's own sweeper
    // never sees it due.
    const first = await sql.begin(async (tx) => {
      await tx`update private.floor_plan_rechecks
                  set pending_since = clock_timestamp() - interval '2 minutes',
                      changed_at = clock_timestamp() - interval '3 seconds'
                where restaurant_id = ${r.id}`;
      return await recheck(tx as unknown as typeof sql, "0 seconds");
    });
    assertEquals(first.busy, true, "the restaurant is busy");
    // The sweeper's loop calls again at once, and again after each other restaurant's second-long wait.
    assertEquals((await recheck(sql, "3 seconds")).restaurants, 0, "3 s later it is not tried again");
    assertEquals((await recheck(sql, "9 seconds")).restaurants, 0, "nor 9 s later");
    assertEquals((await recheck(sql, "11 seconds")).busy, true, "11 s later it is, and is busy still");
  } finally {
    await lock.release();
  }
  const result = await recheck(sql, "11 seconds");
  assertEquals(
    [result.restaurants, result.replanned],
    [1, 1],
    `once the lock is free, the re-check runs: ${JSON.stringify(result)}`,
  );
});

Deno.test("a re-check waits for a commit in flight that checked its tables before the change (20261226060000)", async () => {
  const r = await createRestaurant(sql, { tables: [{ number: "K1", capacity: 2 }] });
  await sql`select ops.set_restaurant_mode(${r.id}, 'off', 'race test', 'operators seat by hand')`;
  const booking = await r.insertBooking(2, `${someDay()}T19:00:00Z`);
  await waitForTerminal(sql, [booking], 10_000);
  // An operator's seat, checked against the floor plan and not yet committed: it holds the restaurant lock.
  const seat = await holdOpen((tx) => tx`select ops.assign_tables(${booking}, array['K1'], 'race test')`);
  try {
    // Meanwhile the platform takes the table out of service (no restaurant lock needed), and the re-check runs.
    await sql`update public.restaurant_tables set out_of_service = true where restaurant_id = ${r.id}`;
    const [{ result }] = await sql`
      select private.recheck_floor_plans(clock_timestamp() + interval '1 minute', interval '10 seconds', ${r.id}) as result`;
    assertEquals(result.busy, true, `the re-check waits for the seat in flight: ${JSON.stringify(result)}`);
  } finally {
    await seat.release();
  }
  const [{ result }] = await sql`
    select private.recheck_floor_plans(clock_timestamp() + interval '1 minute', interval '10 seconds', ${r.id}) as result`;
  assertEquals([result.restaurants, result.replanned], [1, 1], `then sees it: ${JSON.stringify(result)}`);
  const [b] = await sql`select assignment_state from public.bookings where id = ${booking}`;
  assert(b.assignment_state !== "confirmed", "so no booking stays confirmed on a table out of service");
});

Deno.test("a re-check looks again at a booking moved while it looked, though the move left its row alone (20261227190000)", async () => {
  const r = await createRestaurant(sql, {
    tables: [{ number: "M1", capacity: 2 }, { number: "M2", capacity: 2 }],
  });
  const day = someDay();
  const moved = await r.insertBooking(2, `${day}T19:00:00Z`);
  const other = await r.insertBooking(2, `${day}T21:30:00Z`);
  const states = await waitForTerminal(sql, [moved, other], 30_000);
  assertEquals([states.get(moved), states.get(other)], ["confirmed", "confirmed"]);
  const [from] = await activeTables(sql, moved);
  // Confirmed a while ago, as most bookings ahead were (set without the trigger that stamps it now).
  await sql.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    await tx`update public.bookings set updated_at = now() - interval '1 hour' where id in ${
      sql([moved, other])
    }`;
  });
  const to = from === "M1" ? "M2" : "M1";
  // The other booking is re-planned too when it sits at the table taken out of service.
  const expected = 1 + ((await activeTables(sql, other)).includes(to) ? 1 : 0);
  const [ids] = await sql<{ from_id: string; to_id: string }[]>`
    select (select id from public.restaurant_tables where restaurant_id = ${r.id} and table_number = ${from}) as from_id,
           (select id from public.restaurant_tables where restaurant_id = ${r.id} and table_number = ${to}) as to_id`;
  // A commit that re-seats the booking (as re-optimisation does for another booking), checked against the floor
  // plan while the table it moves to is in service, and not yet committed: it holds the restaurant lock.
  const move = await holdOpen(async (tx) => {
    await tx`select private.lock_restaurant(${r.id})`;
    // Inside a savepoint, as the commit's exception blocks make it: rows written with a subtransaction's id,
    // which no snapshot lists.
    await tx`savepoint move`;
    const [{ result }] = await tx`
      select private.apply_moves(b, ${
      JSON.stringify([{ booking_id: moved, from_table_ids: [ids.from_id], to_table_ids: [ids.to_id] }])
    }::text::jsonb, 3) as result from public.bookings b where b.id = ${other}`;
    assertEquals(result, null, `the move is made (a conflict would say so): ${JSON.stringify(result)}`);
    await tx`release savepoint move`;
  });
  const checker = connect(1);
  try {
    // The platform takes the table the booking moves to out of service; the re-check scans (the move is not
    // committed, so it sees the booking on the table it leaves) and waits for the lock: the move commits then.
    await sql`update public.restaurant_tables set out_of_service = true where id = ${ids.to_id}`;
    // A transaction begun after the move's has finished when the re-check looks (a busy pipeline's always
    // has): the move's subtransaction lies below the re-check's snapshot's horizon, unlisted.
    await sql`select txid_current()`;
    const [{ pid }] = await checker<{ pid: number }[]>`select pg_backend_pid() as pid`;
    const checking = checker`
      select private.recheck_floor_plans(clock_timestamp() + interval '1 minute', interval '10 seconds', ${r.id}) as result`
      .execute(); // sent now, not when awaited
    await waitFor("the re-check to wait for the lock", async () => {
      const [{ waiting }] = await sql`
        select count(*)::int as waiting from pg_locks where locktype = 'advisory' and not granted and pid = ${pid}`;
      return waiting > 0 || undefined;
    }, 5_000);
    await move.release();
    const [{ result }] = await checking;
    assertEquals(
      [result.restaurants, result.replanned],
      [1, expected],
      `it sees the moved booking: ${JSON.stringify(result)}`,
    );
  } finally {
    await move.release();
    await checker.end();
  }
  const settled = await waitFor("the moved booking to be seated again", async () => {
    const [b] = await sql<{ state: string; tables: string[] }[]>`
      select b.assignment_state as state,
             array(select t.table_number from public.booking_table_assignments a
                     join public.restaurant_tables t on t.id = a.table_id
                    where a.booking_id = b.id and a.released_at is null order by t.table_number) as tables
        from public.bookings b where b.id = ${moved}`;
    return b.state === "confirmed" || b.state === "manual_review" ? b : undefined;
  }, 30_000);
  assert(!settled.tables.includes(to), `never left on the table out of service: ${JSON.stringify(settled)}`);
});

Deno.test("a re-check passes over a restaurant whose mark an edit in flight holds, without waiting for it (20261227220000)", async () => {
  const r = await createRestaurant(sql, {
    tables: [{ number: "E1", capacity: 2 }, { number: "E2", capacity: 2 }],
  });
  await sql`select ops.set_restaurant_mode(${r.id}, 'off', 'race test', 'operators seat by hand')`;
  const booking = await r.insertBooking(2, `${someDay()}T19:00:00Z`);
  await waitForTerminal(sql, [booking], 10_000);
  await sql`select ops.assign_tables(${booking}, array['E1'], 'race test')`;
  await sql`update public.restaurant_tables set out_of_service = true where restaurant_id = ${r.id} and table_number = 'E1'`;
  // Another edit, left open: it holds the restaurant's mark (it marks it again) until it ends.
  const edit = await holdOpen((tx) =>
    tx`update public.restaurant_tables set capacity = 3, max_party_size = 3
        where restaurant_id = ${r.id} and table_number = 'E2'`
  );
  const recheck = async () => {
    const [{ result }] = await sql`
      select private.recheck_floor_plans(clock_timestamp() + interval '1 minute', interval '10 seconds', ${r.id}) as result`;
    return result;
  };
  try {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const answered = await Promise.race([
      recheck(),
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), 5_000))),
    ]);
    clearTimeout(timer);
    assert(answered !== undefined, "the re-check answered while the edit was still open");
    assertEquals(answered.restaurants, 0, `and passed the restaurant over: ${JSON.stringify(answered)}`);
  } finally {
    await edit.release();
  }
  const after = await recheck();
  assertEquals(
    [after.restaurants, after.replanned],
    [1, 1],
    `once the edit is in, the re-check runs: ${JSON.stringify(after)}`,
  );
  const [{ marks }] = await sql`
    select count(*)::int as marks from private.floor_plan_rechecks where restaurant_id = ${r.id}`;
  assertEquals(marks, 0, "and settles the mark");
});

Deno.test("a re-check passes over a booking whose row another transaction holds, without waiting for it (20261227220000)", async () => {
  const r = await createRestaurant(sql, {
    tables: [{ number: "B1", capacity: 2 }, { number: "B2", capacity: 2 }],
  });
  await sql`select ops.set_restaurant_mode(${r.id}, 'off', 'race test', 'operators seat by hand')`;
  const booking = await r.insertBooking(2, `${someDay()}T19:00:00Z`);
  await waitForTerminal(sql, [booking], 10_000);
  await sql`select ops.assign_tables(${booking}, array['B1'], 'race test')`;
  await sql`update public.restaurant_tables set out_of_service = true where restaurant_id = ${r.id} and table_number = 'B1'`;
  // The platform's transaction holds the booking's row, left open.
  const row = await holdOpen((tx) => tx`select 1 from public.bookings where id = ${booking} for update`);
  let result;
  const started = performance.now();
  try {
    [{ result }] = await sql`
      select private.recheck_floor_plans(clock_timestamp() + interval '1 minute', interval '10 seconds', ${r.id}) as result`;
  } finally {
    await row.release();
  }
  const waited = performance.now() - started;
  assertEquals(
    [result.replanned, result.bookings_busy],
    [0, 1],
    `the held booking is counted busy: ${JSON.stringify(result)}`,
  );
  // The re-check's lock wait is 1 s: not taken for a booking's row (the restaurant lock is held meanwhile).
  assert(waited < 800, `it waited ${Math.round(waited)} ms for the held row`);
  const [{ marks }] = await sql`
    select count(*)::int as marks from private.floor_plan_rechecks where restaurant_id = ${r.id}`;
  assertEquals(marks, 1, "the restaurant stays marked for the next pass");
  const again = await sql`
    select private.recheck_floor_plans(clock_timestamp() + interval '1 minute', interval '10 seconds', ${r.id}) as result`;
  assertEquals(again[0].result.replanned, 1, "which sends the booking back once the row is free");
});

// Closed when the test process ends, not by a test of its own (one that asserts nothing would count as passed).
globalThis.addEventListener("unload", () => void sql.end());
