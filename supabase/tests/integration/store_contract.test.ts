// Both database ports must behave the same against the real database: the postgres.js port (the default,
// through SUPABASE_DB_URL) and the supabase-js port (PostgREST RPCs as service_role, through the Data API
// stand-in, since the local stack has no PostgREST). One scenario runs through each port on its own
// restaurant, and the two transcripts must match each other and what the rollout plan expects: the
// deployment's feature flags (the mode ceiling) and its max_parallel cap reach Postgres on both paths.
import { assertEquals } from "../../../shared/testing/assert.ts";
import {
  authenticatorUrl,
  connect,
  createRestaurant,
  DB_URL,
  someDay,
  withDispatchPaused,
} from "../../../shared/testing/stack.ts";
import { startPostgrest } from "../../../shared/testing/postgrest/server.ts";
import { postgresStore } from "../../../shared/store/postgres.ts";
import { supabaseRestStore } from "../../../shared/store/supabase-rest.ts";
import { type AssignmentStore, StoreError } from "../../../shared/store/port.ts";
import type { ShadowComparison } from "../../../shared/store/port.ts";

const sql = connect(2);

/** Runs the scenario through `store`; `bookings` receives the ids of the bookings it made, in order. */
async function scenario(store: AssignmentStore, bookings: string[] = []): Promise<unknown[]> {
  const r = await createRestaurant(sql, {
    tables: [{ number: "T1", capacity: 6 }, { number: "T2", capacity: 4 }],
  });
  const day = someDay();
  const [a, b, c, d, e] = await Promise.all(
    ["12:00", "14:00", "16:00", "18:00", "20:00"].map((t) => r.insertBooking(4, `${day}T${t}:00Z`)),
  );
  bookings.push(a, b, c, d, e);
  const t1 = r.tableIds.get("T1")!;
  const t2 = r.tableIds.get("T2")!;
  const transcript: unknown[] = [];
  const note = (step: string, value: unknown) => transcript.push([step, value]);
  const attempt = async <T>(run: () => Promise<T>) => {
    try {
      return await run();
    } catch (error) {
      if (error instanceof StoreError) return { error: error.code };
      throw error;
    }
  };

  // FEATURE_ASSIGNMENT_PIPELINE_V3=false: at most legacy, although the restaurant is on v3.
  const legacy = await store.begin({ bookingId: a, trigger: "contract", modeCeiling: "legacy" });
  note("begin with the legacy ceiling", legacy.outcome === "ready" ? [legacy.outcome, legacy.mode] : legacy);
  if (legacy.outcome !== "ready") return transcript;
  const committed = await store.commit({
    bookingId: a,
    leaseToken: legacy.lease_token,
    tableIds: [t1],
    strategy: "first_fit",
    durationMs: 3,
    metadata: {},
  });
  note("commit", committed.outcome);

  // _V3=false, _SHADOW=true: at most shadow; a no-fit under legacy's loop is retried, and the comparison kept.
  const shadow = await store.begin({ bookingId: b, trigger: "contract", modeCeiling: "shadow" });
  note("begin with the shadow ceiling", shadow.outcome === "ready" ? [shadow.outcome, shadow.mode] : shadow);
  if (shadow.outcome !== "ready") return transcript;
  const comparison: ShadowComparison = {
    experiment: "v3",
    primary_strategy: "first_fit",
    candidate_strategy: "optimal_fit",
    primary_decision: "escalate",
    candidate_decision: "assign",
    primary_tables: [],
    candidate_tables: [t2],
    score_diff: null,
    primary_ms: 0.25,
    candidate_ms: 0.5,
    candidate_error: null,
  };
  const retried = await store.fail({
    bookingId: b,
    leaseToken: shadow.lease_token,
    kind: "no_fit",
    reason: "no_table_fits: contract test",
    durationMs: 4,
    details: {},
    shadow: comparison,
  });
  note("fail no_fit", retried.outcome === "retry" ? [retried.outcome, retried.delay_ms] : retried);

  // No ceiling: Postgres decides (v3). A plan that breaks a rule is an error with its SQLSTATE on both ports.
  const v3 = await store.begin({ bookingId: c, trigger: "contract" });
  note("begin without a ceiling", v3.outcome === "ready" ? [v3.outcome, v3.mode] : v3);
  if (v3.outcome !== "ready") return transcript;
  const lease = { bookingId: c, leaseToken: v3.lease_token };
  const read = await store.snapshot(lease);
  note(
    "snapshot",
    read.outcome === "ready" ? [read.outcome, (read.snapshot as { tables: [] }).tables.length] : read,
  );
  note(
    "commit tables that do not touch",
    await attempt(() =>
      store.commit({
        bookingId: c,
        leaseToken: v3.lease_token,
        tableIds: [t1, t2],
        strategy: "optimal_fit",
        durationMs: 1,
        metadata: {},
      })
    ),
  );

  // The deployment's max_parallel cap: with one booking in progress, a cap of 1 defers the next.
  note(
    "begin with a cap of 1 while one runs",
    await store.begin({ bookingId: d, trigger: "contract", maxParallel: 1 }),
  );
  const failed = await store.fail({
    bookingId: c,
    leaseToken: v3.lease_token,
    kind: "error",
    reason: "error: contract test",
    durationMs: 2,
    details: {},
  });
  note("fail error", failed.outcome);
  note("snapshot of a lease given back", await store.snapshot(lease));
  note("begin a confirmed booking", await store.begin({ bookingId: a, trigger: "contract" }));
  note(
    "bad argument",
    await attempt(() => store.begin({ bookingId: e, trigger: "contract", maxParallel: 0 })),
  );

  // A review's re-seating search: a couple committed on the 4-top, four with nothing free go to review, and
  // an offer that moves the couple to the 2-top is stored once, for that review only.
  const r2 = await createRestaurant(sql, {
    tables: [{ number: "S1", capacity: 2 }, { number: "S4", capacity: 4 }],
  });
  const [couple, four] = await Promise.all([2, 4].map((n) => r2.insertBooking(n, `${day}T19:00:00Z`)));
  const s1 = r2.tableIds.get("S1")!;
  const s4 = r2.tableIds.get("S4")!;
  const coupleBegun = await store.begin({ bookingId: couple, trigger: "contract" });
  if (coupleBegun.outcome !== "ready") return transcript;
  await store.commit({
    bookingId: couple,
    leaseToken: coupleBegun.lease_token,
    tableIds: [s4],
    strategy: "optimal_fit",
    durationMs: 1,
    metadata: {},
  });
  const fourBegun = await store.begin({ bookingId: four, trigger: "contract" });
  if (fourBegun.outcome !== "ready") return transcript;
  note(
    "fail no_fit in v3",
    (await store.fail({
      bookingId: four,
      leaseToken: fourBegun.lease_token,
      kind: "no_fit",
      reason: "no_table_fits: contract test",
      durationMs: 1,
      details: {},
    })).outcome,
  );
  const probes = await store.reseatingProbes(four);
  note("re-seating probes", probes.outcome === "ready" ? [probes.outcome, probes.probes.length] : probes);
  if (probes.outcome !== "ready") return transcript;
  const offer = {
    startAt: probes.probes[0].startAt,
    tableIds: [s4],
    moves: [{ bookingId: couple, fromTableIds: [s4], toTableIds: [s1] }],
  };
  note(
    "offer for another review",
    await store.offerReseating({ bookingId: four, review: `${probes.review}/earlier`, offers: [offer] }),
  );
  // The search's budget ran out before the second-nearest time was decided: a later search tries it alone.
  const left = probes.probes[1].startAt;
  note(
    "offer with a time undecided",
    await store.offerReseating({
      bookingId: four,
      review: probes.review,
      offers: [offer],
      undecided: [left],
    }),
  );
  const goesOn = await store.reseatingProbes(four);
  note(
    "re-seating probes that go on",
    goesOn.outcome === "ready" ? [goesOn.search, goesOn.probes.map((p) => p.startAt === left)] : goesOn,
  );
  note(
    "offer settling it",
    await store.offerReseating({
      bookingId: four,
      review: probes.review,
      offers: [{ ...offer, startAt: left }],
      search: 2,
    }),
  );
  const [{ offers }] = await sql`select jsonb_array_length(offers) as offers from private.reseating_offers
    where booking_id = ${four}`;
  note("offers kept", offers);
  note("re-seating probes once searched", await store.reseatingProbes(four));

  const [stored] = await sql`
    select experiment, match from public.shadow_comparisons where booking_id = ${b}`;
  note("shadow comparison stored", stored ? [stored.experiment, stored.match] : null);
  const modes = await sql`
    select id, assignment_mode from public.bookings where id in (${a}, ${b}, ${c})`;
  const modeOf = new Map(modes.map((m) => [m.id, m.assignment_mode]));
  note("modes recorded", [modeOf.get(a), modeOf.get(b), modeOf.get(c)]);
  return transcript.map((x) => JSON.parse(JSON.stringify(x)));
}

const expected = [
  ["begin with the legacy ceiling", ["ready", "legacy"]],
  ["commit", "confirmed"],
  ["begin with the shadow ceiling", ["ready", "shadow"]],
  ["fail no_fit", ["retry", 5000]],
  ["begin without a ceiling", ["ready", "v3"]],
  ["snapshot", ["ready", 2]],
  ["commit tables that do not touch", { error: "AS007" }],
  ["begin with a cap of 1 while one runs", "rate_limited"],
  ["fail error", "retry"],
  ["snapshot of a lease given back", { outcome: "lease_lost" }],
  ["begin a confirmed booking", { outcome: "noop", reason: "terminal_state", state: "confirmed" }],
  ["bad argument", { error: "AS005" }],
  ["fail no_fit in v3", "manual_review"],
  // Twelve grid times within ±90 minutes; at 17:30 and 20:30 the 4-top is free (a 90-minute turn, no buffer).
  ["re-seating probes", ["ready", 10]],
  ["offer for another review", "stale"],
  ["offer with a time undecided", "stored"],
  ["re-seating probes that go on", [2, [true]]],
  ["offer settling it", "stored"],
  ["offers kept", 2],
  ["re-seating probes once searched", { outcome: "skip", reason: "already_searched" }],
  ["shadow comparison stored", ["v3", "different_decision"]],
  ["modes recorded", ["legacy", "shadow", "v3"]],
];

/** The rate-limited delay has jitter; keep only the outcome. */
function stable(transcript: unknown[]): unknown[] {
  return transcript.map((entry) => {
    const [step, value] = entry as [string, { outcome?: string }];
    return step === "begin with a cap of 1 while one runs" ? [step, value.outcome] : entry;
  });
}

Deno.test("the postgres.js and supabase-js ports run the same scenario the same way", async () => {
  await withDispatchPaused(sql, async () => {
    const direct = postgresStore(DB_URL, { max: 2 });
    const api = await startPostgrest(authenticatorUrl());
    const rest = supabaseRestStore(api.url, api.keys.serviceRole);
    try {
      const viaPostgres = stable(await scenario(direct));
      const restBookings: string[] = [];
      const viaRest = stable(await scenario(rest, restBookings));
      assertEquals(viaPostgres, expected, "the postgres.js port");
      assertEquals(viaRest, expected, "the supabase-js port");
      const begins = api.requests.filter((r) => r.route === "rpc/assignment_lease");
      const reads = api.requests.filter((r) => r.route === "rpc/assignment_snapshot");
      assertEquals(
        [...begins, ...reads].map((r) => r.role),
        [...begins, ...reads].map(() => "service_role"),
        "each ran as service_role",
      );
      assertEquals(reads.length, 2, "both snapshot reads went through the Data API");
      assertEquals(begins[0].body, {
        p_booking_id: restBookings[0],
        p_trigger: "contract",
        p_mode_ceiling: "legacy",
      }, "supabase-js sends the ceiling as a named argument and leaves unset ones to their defaults");
    } finally {
      await Promise.all([direct.close(), rest.close(), api.close()]);
    }
  });
  await sql.end();
});
