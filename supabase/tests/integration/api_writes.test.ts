// Every write a platform makes, made the way it makes them: supabase-js with the service-role key, against
// the Data API stand-in (PostgREST's login role, role switch and claims). And the same writes with the anon
// key or a signed-in user's token are refused. Needs `scripts/stack start`.
import { createClient } from "@supabase/supabase-js";
import type { Database, TablesInsert } from "../../../shared/database.types.ts";
import { assert, assertEquals } from "../../../shared/testing/assert.ts";
import {
  connect,
  holdLock,
  localDataApi,
  someDay,
  withDispatchPaused,
} from "../../../shared/testing/stack.ts";

const sql = connect(2);
const { standIn, platform } = await localDataApi();
const ops = platform.schema("ops");

type Answer = { data: unknown; error: { code: string; message: string } | null };

/** The answer's data, or a failure naming the call and PostgREST's error. */
function ok<A extends Answer>(what: string, answer: A): NonNullable<A["data"]> {
  if (answer.error) throw new Error(`${what}: ${answer.error.code} ${answer.error.message}`);
  return answer.data as NonNullable<A["data"]>;
}

/** A restaurant with two adjacent tables and a turn-time policy, written through the Data API. */
async function floorPlan() {
  const restaurant = ok(
    "insert restaurant",
    await platform.from("restaurants").insert({ name: `API ${crypto.randomUUID()}`, timezone: "UTC" })
      .select("id").single(),
  );
  const zone = ok(
    "insert zone",
    await platform.from("zones").insert({ restaurant_id: restaurant.id, name: "Main" }).select("id").single(),
  );
  const tables = ok(
    "insert tables",
    await platform.from("restaurant_tables").insert([
      { restaurant_id: restaurant.id, zone_id: zone.id, table_number: "A1", capacity: 2, max_party_size: 2 },
      { restaurant_id: restaurant.id, zone_id: zone.id, table_number: "A2", capacity: 4, max_party_size: 4 },
    ]).select("id, table_number"),
  );
  const [a1, a2] = ["A1", "A2"].map((n) => tables.find((t) => t.table_number === n)!.id);
  ok(
    "insert adjacency",
    await platform.from("table_adjacency").insert({ restaurant_id: restaurant.id, table_a: a1, table_b: a2 }),
  );
  ok(
    "insert turn times",
    await platform.from("turn_time_policies").insert([
      { restaurant_id: restaurant.id, min_party_size: 1, max_party_size: 2, dining_minutes: 90 },
      { restaurant_id: restaurant.id, min_party_size: 3, max_party_size: 6, dining_minutes: 120 },
    ]),
  );
  return { id: restaurant.id, a1, a2 };
}

/** A signed-in user's access token, as Supabase Auth issues it. */
function signedInUser(): Promise<string> {
  const exp = Math.floor(Date.now() / 1000) + 3600;
  return standIn.sign({ sub: crypto.randomUUID(), role: "authenticated", aud: "authenticated", exp });
}

/** A booking as a platform inserts it (end_at is derived by a trigger the generated type cannot know). */
function booking(restaurantId: string, partySize: number, startAt: string) {
  return { restaurant_id: restaurantId, party_size: partySize, start_at: startAt } as TablesInsert<
    "bookings"
  >;
}

Deno.test("service_role writes the floor plan and inserts, changes and cancels a booking through supabase-js", async () => {
  await withDispatchPaused(sql, async () => {
    const r = await floorPlan();
    const changedTable = ok(
      "update table",
      await platform.from("restaurant_tables").update({ capacity: 3, max_party_size: 3 }).eq("id", r.a1)
        .select("capacity").single(),
    );
    assertEquals(changedTable.capacity, 3);
    const day = someDay();

    const inserted = ok(
      "insert booking",
      await platform.from("bookings").insert(booking(r.id, 2, `${day}T19:00:00Z`))
        .select("id, end_at, assignment_state").single(),
    );
    assertEquals(inserted.end_at, `${day}T20:30:00+00:00`, "the turn-time trigger derived the stay");
    assertEquals(inserted.assignment_state, "created");
    const id = inserted.id;

    const moved = ok(
      "change time",
      await platform.from("bookings").update({ start_at: `${day}T20:00:00Z` }).eq("id", id)
        .select("start_at, end_at").single(),
    );
    assertEquals(moved, { start_at: `${day}T20:00:00+00:00`, end_at: `${day}T21:30:00+00:00` });
    const grown = ok(
      "change party size",
      await platform.from("bookings").update({ party_size: 4 }).eq("id", id).select("end_at").single(),
    );
    assertEquals(grown.end_at, `${day}T22:00:00+00:00`, "the larger party's turn time");
    ok("change buffers", await platform.from("bookings").update({ buffer_before_minutes: 15 }).eq("id", id));
    ok("change notes", await platform.from("bookings").update({ notes: "high chair" }).in("id", [id]));
    const [stored] = await sql`select buffer_before_minutes, notes from public.bookings where id = ${id}`;
    assertEquals([stored.buffer_before_minutes, stored.notes], [15, "high chair"]);

    const cancelled = ok(
      "cancel",
      await platform.rpc("cancel_booking", { p_booking_id: id, p_reason: "guest called" }),
    ) as { to: string };
    assertEquals(cancelled.to, "cancelled");
    const [after] = await sql`select status, assignment_state from public.bookings where id = ${id}`;
    assertEquals([after.status, after.assignment_state], ["cancelled", "cancelled"]);
  });
});

Deno.test("service_role calls every ops function and pipeline RPC the docs list through supabase-js", async () => {
  await withDispatchPaused(sql, async () => {
    const r = await floorPlan();
    const day = someDay();
    const insert = async (startAt: string) =>
      ok("insert", await platform.from("bookings").insert(booking(r.id, 2, startAt)).select("id").single())
        .id;
    const actor = { p_actor: "api-test" };
    const called: string[] = [];
    const call = async <A extends Answer>(name: string, run: () => PromiseLike<A>) => {
      called.push(name);
      return ok(name, await run());
    };

    // Reads and reports.
    await call("ops.health", () => ops.rpc("health"));
    await call("ops.rollout_status", () => ops.rpc("rollout_status"));
    await call("ops.restaurant_modes", () => ops.rpc("restaurant_modes"));
    await call("ops.shadow_report", () => ops.rpc("shadow_report", {}));
    await call("ops.pipeline_metrics", () => ops.rpc("pipeline_metrics", { p_restaurant_id: r.id }));

    // The global controls, each set to the value it has, so nothing else changes.
    const status = ok("status", await ops.rpc("rollout_status")) as Record<string, unknown>;
    await call(
      "ops.set_default_mode",
      () => ops.rpc("set_default_mode", { p_mode: status.default_mode as string, ...actor }),
    );
    await call(
      "ops.set_rollout_percentage",
      () =>
        ops.rpc("set_rollout_percentage", { p_percentage: status.rollout_percentage as number, ...actor }),
    );
    await call(
      "ops.set_kill_switch",
      () => ops.rpc("set_kill_switch", { p_on: status.kill_switch as boolean, ...actor }),
    );
    await call(
      "ops.set_shadow_candidate",
      () => ops.rpc("set_shadow_candidate", { p_candidate: status.shadow_candidate as string, ...actor }),
    );
    await call("ops.set_retention", () =>
      ops.rpc("set_retention", {
        p_table: "shadow_comparisons",
        p_days: status.shadow_retention_days as number,
        ...actor,
      }));
    await call(
      "ops.set_event_retention",
      () => ops.rpc("set_event_retention", { p_days: status.event_retention_days as number, ...actor }),
    );
    await call("ops.release_stuck", () => ops.rpc("release_stuck", { p_older_than_minutes: 15, ...actor }));

    // This restaurant's controls, and a booking through review, retry, manual assignment and cancellation.
    await call(
      "ops.set_max_parallel",
      () => ops.rpc("set_max_parallel", { p_value: 2, p_restaurant_id: r.id, ...actor }),
    );
    await call(
      "ops.set_reoptimization",
      () => ops.rpc("set_reoptimization", { p_on: false, p_restaurant_id: r.id, ...actor }),
    );
    await call(
      "ops.reset_circuit_breaker",
      () => ops.rpc("reset_circuit_breaker", { p_restaurant_id: r.id, p_reason: "api test", ...actor }),
    );
    await call("ops.dead_messages", () => ops.rpc("dead_messages", { p_restaurant_id: r.id }));
    await call(
      "ops.resend_dead_messages",
      () => ops.rpc("resend_dead_messages", { p_restaurant_id: r.id, p_reason: "api test", ...actor }),
    );
    await call(
      "ops.set_restaurant_mode",
      () => ops.rpc("set_restaurant_mode", { p_restaurant_id: r.id, p_mode: "off", ...actor }),
    );
    const reviewed = await insert(`${day}T19:00:00Z`);
    const begun = await call(
      "assignment_begin",
      () => platform.rpc("assignment_begin", { p_booking_id: reviewed, p_trigger: "api_test" }),
    ) as { outcome: string };
    assertEquals(begun.outcome, "manual_review", "the restaurant is off: straight to review");
    const queue = await call(
      "ops.manual_review_queue",
      () => ops.rpc("manual_review_queue", { p_restaurant_id: r.id }),
    ) as { booking_id: string }[];
    assertEquals(queue.map((q) => q.booking_id), [reviewed]);
    // An operator offers the guest another time and the guest takes it.
    const offered = await insert(`${day}T16:00:00Z`);
    await call(
      "assignment_begin",
      () => platform.rpc("assignment_begin", { p_booking_id: offered, p_trigger: "api_test" }),
    );
    const moved = await call(
      "ops.accept_alternative",
      () =>
        ops.rpc("accept_alternative", { p_booking_id: offered, p_start_at: `${day}T16:15:00Z`, ...actor }),
    ) as {
      outcome: string;
    };
    assertEquals(moved.outcome, "confirmed", "the booking is confirmed at the time the guest took");
    await call(
      "ops.set_restaurant_mode",
      () =>
        ops.rpc("set_restaurant_mode", {
          p_restaurant_id: r.id,
          p_mode: null as unknown as string,
          ...actor,
        }),
    );
    await call("ops.retry_booking", () => ops.rpc("retry_booking", { p_booking_id: reviewed, ...actor }));
    const retried = await call(
      "ops.retry_bookings",
      () =>
        ops.rpc("retry_bookings", {
          p_reason_code: "circuit_open",
          p_since: new Date(Date.now() - 3_600_000).toISOString(),
          p_restaurant_id: r.id,
          ...actor,
        }),
    ) as { queued: number; joined_queue: number; busy: number; left: number };
    assertEquals(
      retried,
      { queued: 0, joined_queue: 0, busy: 0, left: 0 },
      "nothing of that reason waits in review here",
    );
    await call(
      "ops.assign_tables",
      () => ops.rpc("assign_tables", { p_booking_id: reviewed, p_table_numbers: ["A1"], ...actor }),
    );
    const [assigned] = await sql`select assignment_state from public.bookings where id = ${reviewed}`;
    assertEquals(assigned.assignment_state, "confirmed");
    await call(
      "ops.cancel_booking",
      () => ops.rpc("cancel_booking", { p_booking_id: reviewed, p_reason: "api test", ...actor }),
    );

    // The coordinator's RPCs, as the supabase-js port makes them.
    const planned = await insert(`${day}T21:00:00Z`);
    const ready = await call(
      "assignment_begin",
      () => platform.rpc("assignment_begin", { p_booking_id: planned, p_trigger: "api_test" }),
    ) as {
      outcome: string;
      lease_token: string;
    };
    assertEquals(ready.outcome, "ready");
    const failed = await call("assignment_fail", () =>
      platform.rpc("assignment_fail", {
        p_booking_id: planned,
        p_lease_token: ready.lease_token,
        p_kind: "conflict",
        p_reason: "conflict: api test",
      })) as { outcome: string };
    assertEquals(failed.outcome, "retry");
    // Through the Data API the clock is the database's: a caller cannot claim as of another time.
    const ahead = await platform.rpc("assignment_claim_due", {
      p_restaurant_id: r.id,
      p_now: `${day}T23:00:00Z`,
    });
    assertEquals([ahead.status, ahead.error?.code], [400, "AS005"], "p_now is refused through the Data API");
    // The sweeper is held off meanwhile: it pushes what is due back by its backoff, dispatch paused or not.
    const sweeper = await holdLock(sql, "sweeper", "00000000-0000-0000-0000-000000000000");
    let due: string[];
    try {
      await sql`update public.bookings set next_attempt_at = now() - interval '1 second' where id = ${planned}`;
      due = await call(
        "assignment_claim_due",
        () => platform.rpc("assignment_claim_due", { p_restaurant_id: r.id }),
      ) as string[];
    } finally {
      await sweeper.release();
    }
    assertEquals(due, [planned], "due again once the backoff has passed");
    const swept = await call("assignment_sweep_now", () => platform.rpc("assignment_sweep_now")) as Record<
      string,
      number
    >;
    assertEquals(Object.keys(swept).sort(), [
      "dispatched",
      "escalated",
      "expired_leases",
      "failed",
      "not_dispatched",
      "skipped_locked",
      "woken",
    ]);
    const again = await call(
      "assignment_begin",
      () => platform.rpc("assignment_begin", { p_booking_id: planned, p_trigger: "api_test" }),
    ) as {
      lease_token: string;
    };
    // A list of tables from another position than 1, as Postgres's array syntax lets a caller write one: refused
    // before anything is written (pgTAP 150), not read as a list the seating rules cannot see into.
    const oddList = await platform.rpc("assignment_commit", {
      p_booking_id: planned,
      p_lease_token: again.lease_token,
      p_table_ids: `[0:0]={${r.a2}}` as unknown as string[],
      p_strategy: "optimal_fit",
    });
    assertEquals(
      [oddList.status, oddList.error?.code],
      [400, "AS005"],
      "a list of tables from position 0 is refused",
    );
    const committed = await call("assignment_commit", () =>
      platform.rpc("assignment_commit", {
        p_booking_id: planned,
        p_lease_token: again.lease_token,
        p_table_ids: [r.a2],
        p_strategy: "optimal_fit",
      })) as { outcome: string };
    assertEquals(committed.outcome, "confirmed");
    // Claiming as of another moment is refused, and a message lease is bounded (the claim itself, as
    // service_role: pgTAP 27).
    const past = await platform.rpc("notification_claim", { p_limit: 1, p_now: "2000-01-01T00:00:00Z" });
    assertEquals([past.status, past.error?.code], [400, "AS005"], "p_now is refused through the Data API");
    // A null the generated types forbid, as an untyped client could send it.
    const unleased = await platform.rpc("notification_claim", {
      p_limit: 1,
      p_lease_ms: null as unknown as number,
    });
    assertEquals([unleased.status, unleased.error?.code], [400, "AS005"], "a message lease cannot be null");
    const [version] =
      await sql`select assignment_state_version as v from public.bookings where id = ${planned}`;
    await call("transition_assignment_state", () =>
      platform.rpc("transition_assignment_state", {
        p_booking_id: planned,
        p_to_state: "cancelled",
        p_expected_version: version.v,
      }));
    const twice = await platform.rpc("cancel_booking", { p_booking_id: planned });
    assertEquals(
      [twice.status, twice.error?.code],
      [400, "AS001"],
      "a business error reaches the client with its SQLSTATE, as PostgREST's 400",
    );

    const documented = [
      ...Deno.readTextFileSync(new URL("../../../docs/operating.md", import.meta.url))
        .matchAll(/\bops\.([a-z_]+)\(/g),
    ].map((m) => `ops.${m[1]}`);
    // operating.md lists 23 ops functions as `ops.name(`; a change of format that hid them would pass vacuously.
    assert(
      new Set(documented).size >= 20,
      `operating.md's ops functions are found (${[...new Set(documented)]})`,
    );
    const missing = [...new Set(documented)].filter((name) => !called.includes(name));
    assertEquals(missing, [], "every ops function operating.md lists was called");
    assert(standIn.requests.every((q) => q.role === "service_role"), "every request ran as service_role");
  });
});

Deno.test("the anon key and a signed-in user's token can make none of those writes", async () => {
  const [restaurant] = await sql`insert into public.restaurants (name) values ('API refusals') returning id`;
  const options = { auth: { persistSession: false, autoRefreshToken: false } };
  const anon = createClient<Database>(standIn.url, standIn.keys.anon, options);
  const user = createClient<Database>(standIn.url, standIn.keys.anon, {
    ...options,
    global: { headers: { Authorization: `Bearer ${await signedInUser()}` } },
  });
  // Paused, so nothing but these requests could move the booking.
  await withDispatchPaused(sql, async () => {
    const [existing] = await sql`
      insert into public.bookings (restaurant_id, party_size, start_at)
      values (${restaurant.id}, 2, ${`${someDay()}T19:00:00Z`}) returning id`;
    for (const [role, client, status] of [["anon", anon, 401], ["authenticated", user, 403]] as const) {
      const attempts = {
        "insert a booking": await client.from("bookings").insert(
          booking(restaurant.id, 2, "2031-01-01T19:00:00Z"),
        ),
        "read bookings": await client.from("bookings").select("id").eq("id", existing.id),
        "change a booking": await client.from("bookings").update({ notes: "forged" }).eq("id", existing.id),
        "delete a booking": await client.from("bookings").delete().eq("id", existing.id),
        "add a table": await client.from("restaurant_tables").insert({
          restaurant_id: restaurant.id,
          zone_id: restaurant.id,
          table_number: "X",
          capacity: 2,
          max_party_size: 2,
        }),
        "cancel a booking": await client.rpc("cancel_booking", { p_booking_id: existing.id }),
        "begin an attempt": await client.rpc("assignment_begin", { p_booking_id: existing.id }),
        "call an ops function": await client.schema("ops").rpc("retry_booking", {
          p_booking_id: existing.id,
          p_actor: role,
        }),
      };
      for (const [what, answer] of Object.entries(attempts)) {
        assertEquals([answer.status, answer.error?.code], [status, "42501"], `${role} cannot ${what}`);
      }
    }
    const [unchanged] = await sql`
      select notes, assignment_state, assignment_state_version from public.bookings where id = ${existing.id}`;
    assertEquals([unchanged.notes, unchanged.assignment_state, unchanged.assignment_state_version], [
      null,
      "created",
      1,
    ]);
  });
  await sql`delete from public.restaurants where id = ${restaurant.id}`;
  await sql.end();
});
