// processBooking against a fake AssignmentStore: the bounded re-plan loop, the error → fail path, the
// lease_lost path and deferrals, without a database. The fake answers each RPC from a script and records
// every call, so the tests can check what the coordinator asked Postgres to do.
import { assert, assertEquals } from "../testing/assert.ts";
import type { AssignmentStore, BeginArgs, CommitArgs, FailArgs } from "../store/port.ts";
import { StoreError } from "../store/port.ts";
import {
  type CommitResult,
  commitResultSchema,
  type FailResult,
  type LeaseResult,
  leaseResultSchema,
  type SnapshotResult,
} from "../store/results.ts";
import type { Logger } from "../telemetry/log.ts";
import { type CoordinatorOptions, processBooking } from "./coordinator.ts";
import { FEW_MOVES } from "../engine/exact/fallback.ts";
import { type ExactSolver, highsSolver } from "../engine/exact/highs.ts";
import { twoSixTopsApart } from "../testing/tables.ts";

const BOOKING = "20000000-0000-4000-8000-000000000001";
const LEASE = "40000000-0000-4000-8000-000000000001";
const ZONE = "10000000-0000-4000-8000-000000000001";
const tableId = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;

/** The JSON assignment_begin returns for a party of two and four free 2-tops (T1–T4), minus `busy`. */
function rawSnapshot(busy: number[] = []) {
  return {
    booking: {
      id: BOOKING,
      restaurant_id: "30000000-0000-4000-8000-000000000001",
      party_size: 2,
      start_at: "2030-01-07T19:00:00Z",
      end_at: "2030-01-07T20:30:00Z",
      timezone: "UTC",
      window_start: "2030-01-07T19:00:00Z",
      window_end: "2030-01-07T20:45:00Z",
    },
    max_tables: 3,
    horizon_minutes: 360,
    tables: [1, 2, 3, 4].map((n) => ({
      id: tableId(n),
      number: `T${n}`,
      zone_id: ZONE,
      capacity: 2,
      min_party_size: 1,
      max_party_size: 2,
      movable: true,
    })),
    adjacency: [],
    busy: busy.map((n) => ({
      table_id: tableId(n),
      start: "2030-01-07T18:00:00Z",
      end: "2030-01-07T21:00:00Z",
    })),
    reoptimize: false,
    placed: [],
  };
}

/** What the fake's begin answers: the lease, with the snapshot its `snapshot` then reads under it. */
type Begun = LeaseResult & { snapshot?: unknown };
const begun = ({ snapshot, ...lease }: Record<string, unknown>): Begun => ({
  ...leaseResultSchema.parse(lease),
  snapshot,
});

const ready = (busy: number[] = []): Begun =>
  begun({
    outcome: "ready",
    lease_token: LEASE,
    attempt: 1,
    mode: "v3",
    shadow_candidate: "v3",
    lock_wait_ms: 0.1,
    slot_wait_ms: 0,
    snapshot: rawSnapshot(busy),
  });

const conflict = (busy: number[]): CommitResult =>
  commitResultSchema.parse({
    outcome: "conflict",
    busy_tables: busy.map((n) => `T${n}`),
    snapshot: rawSnapshot(busy),
  });

const confirmed: CommitResult = { outcome: "confirmed", version: 6, lock_wait_ms: 0.2 };

type Script<A, R> = (args: A, call: number) => R | Promise<R>;

type Lease = { bookingId: string; leaseToken: string };

function fakeStore(script: {
  begin: Script<BeginArgs, Begun>;
  /** By default the snapshot the last begin came with. */
  snapshot?: Script<Lease, SnapshotResult>;
  commit?: Script<CommitArgs, CommitResult>;
  fail?: Script<FailArgs, FailResult>;
}) {
  const calls = {
    begin: [] as BeginArgs[],
    snapshot: [] as Lease[],
    commit: [] as CommitArgs[],
    fail: [] as FailArgs[],
  };
  const unexpected = (name: string) => () => Promise.reject(new Error(`unexpected call: ${name}`));
  let leased: unknown;
  const store: AssignmentStore = {
    begin: async (args) => {
      const { snapshot, ...lease } = await script.begin(args, calls.begin.push(args) - 1);
      leased = snapshot;
      return lease as LeaseResult;
    },
    snapshot: async (args) => {
      const call = calls.snapshot.push(args) - 1;
      return script.snapshot ? await script.snapshot(args, call) : { outcome: "ready", snapshot: leased };
    },
    commit: async (args) => {
      if (!script.commit) throw new Error("unexpected call: commit");
      return await script.commit(args, calls.commit.push(args) - 1);
    },
    fail: async (args) => {
      if (!script.fail) throw new Error("unexpected call: fail");
      return await script.fail(args, calls.fail.push(args) - 1);
    },
    claimDue: unexpected("claimDue"),
    sweepNow: unexpected("sweepNow"),
    reviewsToReseat: unexpected("reviewsToReseat"),
    reseatingProbes: unexpected("reseatingProbes"),
    offerReseating: unexpected("offerReseating"),
    claimNotifications: unexpected("claimNotifications"),
    completeNotification: unexpected("completeNotification"),
    close: () => Promise.resolve(),
  };
  return { store, calls };
}

function recordingLogger() {
  const lines: string[] = [];
  const write = (level: string) => (source: string, message: string, fields = {}) =>
    lines.push(JSON.stringify({ level, source, message, ...fields }));
  const logger: Logger = { info: write("info"), warn: write("warn"), error: write("error") };
  return { logger, lines };
}

function options(extra: Partial<CoordinatorOptions> = {}): CoordinatorOptions {
  return { strategy: "optimal_fit", maxReplans: 3, logger: recordingLogger().logger, ...extra };
}

const retry = (reason: string): FailResult => ({ outcome: "retry", reason, delay_ms: 1500 });

Deno.test("a lost race re-plans on the fresh snapshot, and gives up as a conflict after maxReplans", async () => {
  // Every commit loses: the table it proposed is taken by the time it arrives.
  const taken: number[] = [];
  const { store, calls } = fakeStore({
    begin: () => ready(),
    commit: (args) => {
      taken.push(Number(args.tableIds[0].slice(-12)));
      return conflict([...taken]);
    },
    fail: (args) => retry(args.reason),
  });
  const outcome = await processBooking(store, BOOKING, "test", options({ maxReplans: 2 }));

  assertEquals(calls.commit.length, 3, "the first plan and two re-plans, no more");
  assertEquals(
    calls.commit.map((c) => c.tableIds),
    [[tableId(1)], [tableId(2)], [tableId(3)]],
    "each re-plan avoids the tables the fresh snapshot shows as busy",
  );
  assertEquals(calls.commit.map((c) => c.metadata.replans), [0, 1, 2]);
  assertEquals(calls.commit.every((c) => c.leaseToken === LEASE), true, "every commit carries the lease");
  assertEquals(calls.fail.length, 1);
  assertEquals(calls.fail[0].kind, "conflict");
  assertEquals(calls.fail[0].reason, "conflict: lost 3 races for tables (T1, T2, T3)");
  assertEquals(calls.fail[0].details, { replans: 2 });
  assertEquals(outcome, { outcome: "retry", delayMs: 1500, reason: calls.fail[0].reason });
});

Deno.test("in shadow mode an attempt that ends in lost races still hands over its comparison", async () => {
  const { store, calls } = fakeStore({
    begin: () => ({ ...ready(), mode: "shadow" }),
    commit: () => conflict([1]),
    fail: (args) => retry(args.reason),
  });
  await processBooking(store, BOOKING, "test", options({ maxReplans: 0 }));
  assertEquals(calls.fail[0]?.kind, "conflict");
  assertEquals(calls.fail[0]?.shadow?.experiment, "v3", "the comparison goes with the conflict");
});

Deno.test("a race lost once is won on the re-plan", async () => {
  const { store, calls } = fakeStore({
    begin: () => ready(),
    commit: (_args, call) => call === 0 ? conflict([1]) : confirmed,
  });
  const outcome = await processBooking(store, BOOKING, "test", options());
  assert(outcome.outcome === "confirmed");
  assertEquals([outcome.replans, outcome.tables, outcome.strategy], [1, ["T2"], "optimal_fit"]);
  assertEquals(calls.commit.length, 2);
});

Deno.test("with maxReplans 0 the first lost race ends the attempt", async () => {
  const { store, calls } = fakeStore({
    begin: () => ready(),
    commit: () => conflict([1]),
    fail: (args) => retry(args.reason),
  });
  await processBooking(store, BOOKING, "test", options({ maxReplans: 0 }));
  assertEquals([calls.commit.length, calls.fail[0]?.kind], [1, "conflict"]);
});

Deno.test("a conflict without a fresh snapshot is not re-planned blind", async () => {
  const { store, calls } = fakeStore({
    begin: () => ready(),
    commit: () => ({ outcome: "conflict" }),
    fail: (args) => retry(args.reason),
  });
  await processBooking(store, BOOKING, "test", options());
  assertEquals([calls.commit.length, calls.fail[0]?.kind], [1, "conflict"]);
});

Deno.test("a plan the database rejects as rule-breaking fails the attempt as an engine error", async () => {
  const { logger, lines } = recordingLogger();
  const { store, calls } = fakeStore({
    begin: () => ready(),
    commit: () => {
      throw new StoreError("AS007", "the proposed tables break a rule: not_adjacent for ada@example.com");
    },
    fail: (args) => retry(args.reason),
  });
  const outcome = await processBooking(store, BOOKING, "test", options({ logger }));
  assertEquals(calls.fail.length, 1);
  assertEquals(calls.fail[0].kind, "error", "an error counts toward the circuit breaker");
  assertEquals(calls.fail[0].leaseToken, LEASE);
  assertEquals(
    calls.fail[0].reason,
    "engine_error: the proposed tables break a rule: not_adjacent for [email]",
  );
  assertEquals(outcome.outcome, "retry");
  assert(!lines.some((l) => l.includes("ada@example.com")), "no personal data in the logs");
  assert(
    lines.some((l) => l.includes('"level":"error"') && l.includes("engine_error")),
    "the error is logged",
  );
});

Deno.test("a race Postgres ended (a deadlock, a table deleted under the commit, a lock held past the RPC's wait) is a conflict, not a breaker error", async () => {
  for (const code of ["40P01", "40001", "23503", "55P03"]) {
    const { store, calls } = fakeStore({
      begin: () => ready(),
      commit: () => {
        throw new StoreError(code, "deadlock detected");
      },
      fail: (args) => retry(args.reason),
    });
    const outcome = await processBooking(store, BOOKING, "test", options());
    assertEquals(
      [calls.fail[0].kind, calls.fail[0].reason],
      ["conflict", "conflict: deadlock detected"],
      code,
    );
    assertEquals(outcome.outcome, "retry");
  }
});

Deno.test("any other failure while committing (a dropped connection) is an error, retried by Postgres", async () => {
  const { store, calls } = fakeStore({
    begin: () => ready(),
    commit: () => Promise.reject(new Error("connection terminated unexpectedly")),
    fail: () => ({ outcome: "manual_review", reason: "attempts_exhausted: 5 attempts failed" }),
  });
  const outcome = await processBooking(store, BOOKING, "test", options());
  assertEquals(calls.fail[0].kind, "error");
  assertEquals(calls.fail[0].reason, "error: connection terminated unexpectedly");
  assertEquals(outcome, { outcome: "manual_review", reason: "attempts_exhausted: 5 attempts failed" });
});

Deno.test("a snapshot that does not parse ends the attempt through fail, naming what is wrong", async () => {
  const broken = rawSnapshot();
  broken.tables[1].capacity = -2;
  const { store, calls } = fakeStore({
    begin: () => begun({ ...ready(), snapshot: broken }),
    fail: (args) => retry(args.reason),
  });
  const outcome = await processBooking(store, BOOKING, "test", options());
  assertEquals(calls.commit.length, 0, "nothing is planned on it");
  assertEquals(
    [calls.fail.length, calls.fail[0].kind, calls.fail[0].leaseToken],
    [1, "invalid_data", LEASE],
    "one booking's data: retried, not counted toward the restaurant's breaker",
  );
  assert(
    calls.fail[0].reason.startsWith("invalid_snapshot: the snapshot does not parse (tables.1.capacity: "),
    calls.fail[0].reason,
  );
  assertEquals(outcome, { outcome: "retry", delayMs: 1500, reason: calls.fail[0].reason });
});

Deno.test("a fresh snapshot after a lost race that does not parse ends the attempt the same way", async () => {
  const { store, calls } = fakeStore({
    begin: () => ready(),
    commit: () => ({ outcome: "conflict", busy_tables: ["T1"], snapshot: { tables: "none" } }),
    fail: (args) => retry(args.reason),
  });
  await processBooking(store, BOOKING, "test", options());
  assertEquals(calls.commit.length, 1);
  assertEquals(calls.fail[0].kind, "invalid_data");
  assert(calls.fail[0].reason.startsWith("invalid_snapshot: "), calls.fail[0].reason);
});

/** A commit that found a table taken out of service after the snapshot was taken: the fresh snapshot lacks it. */
const ruleChanged = (outOfService: number): CommitResult => {
  const fresh = rawSnapshot();
  fresh.tables = fresh.tables.filter((t) => t.id !== tableId(outOfService));
  return commitResultSchema.parse({
    outcome: "conflict",
    reason: `rule_changed: the booking or its tables changed after the snapshot was taken ` +
      `(table_unavailable: T${outOfService} is inactive or out of service)`,
    snapshot: fresh,
  });
};

Deno.test("a rule that changed since the snapshot is re-planned on the fresh one, never an error", async () => {
  const { logger, lines } = recordingLogger();
  const { store, calls } = fakeStore({
    begin: () => ready(),
    commit: (args, call) => call === 0 ? ruleChanged(Number(args.tableIds[0].slice(-12))) : confirmed,
    fail: (args) => retry(args.reason),
  });
  const outcome = await processBooking(store, BOOKING, "test", options({ logger }));
  assertEquals(outcome.outcome, "confirmed");
  assertEquals(calls.fail.length, 0, "nothing reaches the breaker");
  assertEquals(calls.commit.length, 2);
  assert(
    !calls.commit[1].tableIds.includes(calls.commit[0].tableIds[0]),
    "the second plan leaves out the table taken out of service",
  );
  assert(
    lines.some((l) =>
      l.includes("the rules changed since the snapshot") && l.includes('"reason":"rule_changed"')
    ),
    "the re-plan is logged with its cause",
  );
});

Deno.test("rules that keep changing end the attempt as a conflict naming the cause, not an error", async () => {
  const { store, calls } = fakeStore({
    begin: () => ready(),
    commit: (args) => ruleChanged(Number(args.tableIds[0].slice(-12))),
    fail: (args) => retry(args.reason),
  });
  const outcome = await processBooking(store, BOOKING, "test", options({ maxReplans: 2 }));
  assertEquals(calls.commit.length, 3);
  assertEquals(calls.fail[0].kind, "conflict", "a conflict does not count toward the breaker");
  assert(
    calls.fail[0].reason.startsWith("rule_changed: the booking or its tables changed"),
    calls.fail[0].reason,
  );
  assertEquals(outcome.outcome, "retry");
});

Deno.test("ids Postgres accepts but RFC 4122 does not are planned and committed like any other", async () => {
  const odd = (n: number) =>
    `${n}${n}${n}${n}${n}${n}${n}${n}-${n}${n}${n}${n}-${n}${n}${n}${n}-${n}${n}${n}${n}-` +
    `${n}`.repeat(12);
  const snapshot = rawSnapshot();
  snapshot.booking.id = odd(1);
  snapshot.tables.forEach((t, i) => (t.id = odd(i + 2)));
  const { store, calls } = fakeStore({
    begin: () => begun({ ...ready(), lease_token: odd(9), snapshot }),
    commit: () => confirmed,
  });
  const outcome = await processBooking(store, odd(1), "test", options());
  assertEquals(outcome.outcome, "confirmed");
  assertEquals(calls.commit[0].tableIds, [odd(2)]);
  assertEquals(calls.commit[0].leaseToken, odd(9));
});

Deno.test("an exception in the engine ends the attempt through fail as an engine error", async () => {
  const { store, calls } = fakeStore({ begin: () => ready(), fail: (args) => retry(args.reason) });
  const outcome = await processBooking(store, BOOKING, "test", options({ strategy: "no_such_strategy" }));
  assertEquals(calls.commit.length, 0);
  assertEquals([calls.fail[0].kind, calls.fail[0].leaseToken], ["error", LEASE]);
  assert(
    calls.fail[0].reason.startsWith('engine_error: unknown strategy "no_such_strategy"'),
    calls.fail[0].reason,
  );
  assertEquals(outcome.outcome, "retry");
});

Deno.test("a lease lost at commit ends the attempt without reporting a failure", async () => {
  const { store, calls } = fakeStore({ begin: () => ready(), commit: () => ({ outcome: "lease_lost" }) });
  const outcome = await processBooking(store, BOOKING, "test", options());
  assertEquals(outcome, { outcome: "lease_lost" });
  assertEquals([calls.commit.length, calls.fail.length], [1, 0], "the new lease holder decides, not us");
});

Deno.test("the snapshot is read under the lease just taken, once, and planned on", async () => {
  const { store, calls } = fakeStore({ begin: () => ready([1]), commit: () => confirmed });
  const outcome = await processBooking(store, BOOKING, "test", options());
  assertEquals(calls.snapshot, [{ bookingId: BOOKING, leaseToken: LEASE }]);
  assertEquals(outcome.outcome, "confirmed");
  assert(!calls.commit[0].tableIds.includes(tableId(1)), "T1 was busy in the snapshot read");
});

Deno.test("a lease lost before its snapshot is read ends the attempt without planning or failing", async () => {
  const { store, calls } = fakeStore({ begin: () => ready(), snapshot: () => ({ outcome: "lease_lost" }) });
  assertEquals(await processBooking(store, BOOKING, "test", options()), { outcome: "lease_lost" });
  assertEquals([calls.commit.length, calls.fail.length], [0, 0], "the new lease holder decides, not us");
});

Deno.test("a snapshot read that fails ends the attempt through fail, as an error", async () => {
  const { store, calls } = fakeStore({
    begin: () => ready(),
    snapshot: () => Promise.reject(new Error("connection terminated unexpectedly")),
    fail: (args) => retry(args.reason),
  });
  const outcome = await processBooking(store, BOOKING, "test", options());
  assertEquals(
    [calls.fail.length, calls.fail[0].kind, calls.fail[0].leaseToken, calls.fail[0].reason],
    [1, "error", LEASE, "error: connection terminated unexpectedly"],
    "the lease is given back now, not left to expire",
  );
  assertEquals([calls.commit.length, outcome.outcome], [0, "retry"]);
});

Deno.test("a lease lost by the time a failure is reported is returned as lease_lost", async () => {
  const { store, calls } = fakeStore({
    begin: () => ready([1, 2, 3, 4]),
    fail: () => ({ outcome: "lease_lost" }),
  });
  const outcome = await processBooking(store, BOOKING, "test", options());
  assertEquals(calls.fail[0].kind, "no_fit", "every table was busy");
  assert(calls.fail[0].reason.startsWith("no_table_fits: "), calls.fail[0].reason);
  assertEquals(outcome, { outcome: "lease_lost" });
});

Deno.test("deferrals and refusals from begin are passed on without planning", async () => {
  for (
    const [answer, expected] of [
      [{ outcome: "rate_limited", delay_ms: 250 }, { outcome: "rate_limited", delayMs: 250 }],
      [{ outcome: "circuit_open", delay_ms: 900 }, { outcome: "circuit_open", delayMs: 900 }],
      [{ outcome: "busy", reason: "leased" }, { outcome: "busy", reason: "leased" }],
      [{ outcome: "manual_review", reason: "party_too_large: x" }, {
        outcome: "manual_review",
        reason: "party_too_large: x",
      }],
    ] as const
  ) {
    const { store, calls } = fakeStore({ begin: () => begun(answer) });
    assertEquals(await processBooking(store, BOOKING, "test", options()), expected);
    assertEquals([calls.snapshot.length, calls.commit.length, calls.fail.length], [0, 0, 0]);
  }
});

Deno.test("a review reason is logged by its code only; one that has no code is logged as uncoded", async () => {
  for (
    const [reason, logged] of [
      ["party_too_large: the party of 40 is more than any table seats", "party_too_large"],
      ["Ada Lovelace asked for the window table", "uncoded"],
      ["Call back: Ada, about the cake", "uncoded"],
    ]
  ) {
    const { logger, lines } = recordingLogger();
    const { store } = fakeStore({ begin: () => begun({ outcome: "manual_review", reason }) });
    await processBooking(store, BOOKING, "test", options({ logger }));
    assert(lines.some((l) => l.includes(`"reason":"${logged}"`)), `logged as ${logged}: ${lines}`);
    assert(!lines.some((l) => l.includes("Ada") || l.includes("any table")), "never the words themselves");
  }
});

Deno.test("begin receives the instance's max_parallel and mode ceiling", async () => {
  const { store, calls } = fakeStore({ begin: () => ({ outcome: "noop", reason: "terminal_state" }) });
  await processBooking(store, BOOKING, "sweeper", options({ maxParallel: 2, modeCeiling: "shadow" }));
  assertEquals(calls.begin[0], {
    bookingId: BOOKING,
    trigger: "sweeper",
    maxParallel: 2,
    modeCeiling: "shadow",
  });
});

/**
 * A party of four, a two-top T1 and a four-top T2 held by a couple that may still move, with re-optimisation
 * on: nothing fits as the room stands.
 */
function coupleOnTheFourTop(mode: "v3" | "legacy" | "shadow"): Begun {
  const raw = rawSnapshot();
  const window = { start: raw.booking.window_start, end: raw.booking.window_end };
  return begun({
    ...ready(),
    mode,
    snapshot: {
      ...raw,
      booking: { ...raw.booking, party_size: 4 },
      tables: [raw.tables[0], { ...raw.tables[1], capacity: 4, max_party_size: 4 }],
      busy: [{ table_id: tableId(2), ...window }],
      reoptimize: true,
      placed: [{
        id: "50000000-0000-4000-8000-000000000001",
        party_size: 2,
        window_start: window.start,
        window_end: window.end,
        table_ids: [tableId(2)],
        locked: false,
      }],
    },
  });
}

Deno.test("in v3 mode a booking that fits nowhere is committed with the moves that make room", async () => {
  const { store, calls } = fakeStore({ begin: () => coupleOnTheFourTop("v3"), commit: () => confirmed });
  const outcome = await processBooking(store, BOOKING, "test", options({ strategy: "scarcity_fit" }));
  assertEquals(outcome.outcome, "confirmed");
  assertEquals(calls.commit[0].tableIds, [tableId(2)]);
  // With the couple as the snapshot showed them, which the commit checks they still are.
  const stay = rawSnapshot().booking;
  assertEquals(calls.commit[0].moves, [{
    bookingId: "50000000-0000-4000-8000-000000000001",
    fromTableIds: [tableId(2)],
    toTableIds: [tableId(1)],
    seen: {
      windowStart: Date.parse(stay.window_start),
      windowEnd: Date.parse(stay.window_end),
      partySize: 2,
    },
  }]);
});

Deno.test("the bounded search stops at the attempt's deadline, and the exact fallback decides instead", async () => {
  const { store, calls } = fakeStore({ begin: () => coupleOnTheFourTop("v3"), commit: () => confirmed });
  const outcome = await processBooking(
    store,
    BOOKING,
    "test",
    // A deadline already past, so the search gives up at its first arrangement.
    options({ strategy: "scarcity_fit", searchBudgetMs: -1 }),
  );
  assertEquals(outcome.outcome, "confirmed");
  assertEquals(calls.commit[0].moves?.length, 1);
  assertEquals(
    (calls.commit[0].metadata.exact as { verdict: string }).verdict,
    "plan",
    "seated by the fallback",
  );
});

Deno.test("the legacy and shadow paths never move bookings, even where re-optimisation is on", async () => {
  for (const mode of ["legacy", "shadow"] as const) {
    const { store, calls } = fakeStore({
      begin: () => coupleOnTheFourTop(mode),
      fail: () => ({ outcome: "manual_review", reason: "no_table_fits" }),
    });
    const outcome = await processBooking(store, BOOKING, "test", options({ strategy: "scarcity_fit" }));
    assertEquals(outcome.outcome, "manual_review", mode);
    assertEquals([calls.commit.length, calls.fail[0].kind], [0, "no_fit"], mode);
  }
});

Deno.test("shadow mode compares legacy with V3 as V3 would run there: re-seating the couple, it seats the four", async () => {
  const { store, calls } = fakeStore({
    begin: () => coupleOnTheFourTop("shadow"),
    fail: () => ({ outcome: "manual_review", reason: "no_table_fits" }),
  });
  await processBooking(store, BOOKING, "test", options({ strategy: "scarcity_fit" }));
  const shadow = calls.fail[0].shadow;
  assertEquals(
    [shadow?.experiment, shadow?.primary_decision, shadow?.candidate_decision, shadow?.candidate_tables],
    ["v3", "escalate", "assign", [tableId(2)]],
  );
});

Deno.test("in shadow mode the A/A candidate, legacy, re-seats nobody, and V3's search out of time escalates", async () => {
  const aa = fakeStore({
    begin: () => ({ ...coupleOnTheFourTop("shadow"), shadow_candidate: "aa" }),
    fail: () => ({ outcome: "manual_review", reason: "no_table_fits" }),
  });
  await processBooking(aa.store, BOOKING, "test", options({ strategy: "scarcity_fit" }));
  assertEquals([aa.calls.fail[0].shadow?.experiment, aa.calls.fail[0].shadow?.candidate_decision], [
    "aa",
    "escalate",
  ]);
  const late = fakeStore({
    begin: () => coupleOnTheFourTop("shadow"),
    fail: () => ({ outcome: "manual_review", reason: "no_table_fits" }),
  });
  await processBooking(
    late.store,
    BOOKING,
    "test",
    options({ strategy: "scarcity_fit", searchBudgetMs: -1 }),
  );
  assertEquals(
    [
      late.calls.fail[0].shadow?.candidate_decision,
      late.calls.fail[0].shadow?.candidate_error,
      late.calls.commit.length,
    ],
    ["escalate", null, 0],
  );
});

const COUPLE = "50000000-0000-4000-8000-000000000001";
const FOUR = "50000000-0000-4000-8000-000000000002";

interface Placed {
  id: string;
  party_size: number;
  window_start: string;
  window_end: string;
  table_ids: string[];
  locked: boolean;
}

/**
 * A party of six, a 6-top held by a locked booking, two joinable 4-tops (T2, T3), a third 4-top T4 and a
 * 2-top T5: a four on T3 must move to T4, and the couple on T4 to T5. Re-optimisation on, but allowed one
 * move only, so only the exact fallback can seat the six. With `lockedFour`, nothing can.
 */
function onlyExactSeats(
  lockedFour = false,
  more: { tables?: number[][]; placed?: Placed[] } = {},
): Begun {
  const raw = rawSnapshot();
  const window = { window_start: raw.booking.window_start, window_end: raw.booking.window_end };
  const base = raw.tables[0];
  const tables = [[1, 6], [2, 4], [3, 4], [4, 4], [5, 2], ...more.tables ?? []].map(([n, capacity]) => ({
    ...base,
    id: tableId(n),
    number: `T${n}`,
    capacity,
    max_party_size: capacity,
  }));
  const placed = [
    { id: "50000000-0000-4000-8000-000000000003", party_size: 6, table: 1, locked: true },
    { id: FOUR, party_size: 4, table: 3, locked: lockedFour },
    { id: COUPLE, party_size: 2, table: 4, locked: false },
  ].map((p): Placed => ({
    id: p.id,
    party_size: p.party_size,
    ...window,
    table_ids: [tableId(p.table)],
    locked: p.locked,
  })).concat(more.placed ?? []);
  return begun({
    ...ready(),
    snapshot: {
      ...raw,
      booking: { ...raw.booking, party_size: 6 },
      max_tables: 2,
      tables,
      adjacency: [[tableId(2), tableId(3)]],
      busy: placed.map((p) => ({ table_id: p.table_ids[0], start: p.window_start, end: p.window_end })),
      reoptimize: true,
      placed,
    },
  });
}

Deno.test("when the bounded search finds nothing, the exact fallback's plan is committed with its moves", async () => {
  const { store, calls } = fakeStore({ begin: () => onlyExactSeats(), commit: () => confirmed });
  const outcome = await processBooking(
    store,
    BOOKING,
    "test",
    options({ strategy: "scarcity_fit", reoptimizeMaxMoves: 1 }),
  );
  assertEquals(outcome.outcome, "confirmed");
  assertEquals([...calls.commit[0].tableIds].sort(), [tableId(2), tableId(3)]);
  const stay = rawSnapshot().booking;
  const seen = (partySize: number) => ({
    windowStart: Date.parse(stay.window_start),
    windowEnd: Date.parse(stay.window_end),
    partySize,
  });
  assertEquals(calls.commit[0].moves, [
    { bookingId: COUPLE, fromTableIds: [tableId(4)], toTableIds: [tableId(5)], seen: seen(2) },
    { bookingId: FOUR, fromTableIds: [tableId(3)], toTableIds: [tableId(4)], seen: seen(4) },
  ]);
  assertEquals((calls.commit[0].metadata.exact as { verdict: string }).verdict, "plan");
});

Deno.test("the exact fallback looks near the stay first, then proves with the whole period that nothing moves fewer", async () => {
  // A couple on a 2-top of its own from an hour into the stay until long after it, and a four on T2 from
  // 140 minutes after the stay, which the couple's chains into the affected period: near the stay, the first
  // solve holds the four where it is.
  const raw = rawSnapshot();
  const [start, end] = [Date.parse(raw.booking.window_start), Date.parse(raw.booking.window_end)];
  const at = (ms: number) => new Date(ms).toISOString();
  const beyond = [
    { n: 4, party_size: 2, table: 6, from: start + 60 * 60_000, to: end + 150 * 60_000 },
    { n: 5, party_size: 4, table: 2, from: end + 140 * 60_000, to: end + 230 * 60_000 },
  ].map((p): Placed => ({
    id: `50000000-0000-4000-8000-00000000000${p.n}`,
    party_size: p.party_size,
    window_start: at(p.from),
    window_end: at(p.to),
    table_ids: [tableId(p.table)],
    locked: false,
  }));
  const withBeyond = onlyExactSeats(false, { tables: [[6, 2]], placed: beyond });
  const solves: { columns: number; movesAtMost?: number }[] = [];
  const { store, calls } = fakeStore({ begin: () => withBeyond, commit: () => confirmed });
  const outcome = await processBooking(store, BOOKING, "test", {
    ...options({ strategy: "scarcity_fit", reoptimizeMaxMoves: 1 }),
    exactSolver: {
      solve: (milp, ms) => {
        solves.push({ columns: milp.columns, movesAtMost: milp.movesAtMost });
        return highsSolver.solve(milp, ms);
      },
      decide: highsSolver.decide,
    },
  });
  assertEquals(outcome.outcome, "confirmed");
  assertEquals(calls.commit[0].moves!.map((m) => m.bookingId).sort(), [COUPLE, FOUR]);
  // Near the stay within the bound on moves, then the whole period (more columns) for one move fewer.
  assertEquals(solves.map((s) => s.movesAtMost), [FEW_MOVES, 1]);
  assert(solves[0].columns < solves[1].columns, JSON.stringify(solves));
  assertEquals((calls.commit[0].metadata.exact as { proven: boolean }).proven, true);
});

Deno.test("a party not even the empty room seats goes to review without a re-seating search or the solver", async () => {
  // onlyExactSeats's room, but a party of 9: no table or pair of its tables seats nine.
  const room = onlyExactSeats();
  const snapshot = room.snapshot as { booking: Record<string, unknown> };
  const { store, calls } = fakeStore({
    begin: () => ({ ...room, snapshot: { ...snapshot, booking: { ...snapshot.booking, party_size: 9 } } }),
    fail: (args) => ({ outcome: "manual_review", reason: args.reason }),
  });
  await processBooking(store, BOOKING, "test", {
    ...options({ strategy: "scarcity_fit", reoptimizeMaxMoves: 5 }),
    exactSolver: {
      solve: () => Promise.reject(new Error("the exact fallback ran")),
      decide: () => Promise.reject(new Error("the exact fallback ran")),
    },
  });
  assertEquals(calls.commit.length, 0);
  assertEquals(calls.fail[0].kind, "no_fit");
  assertEquals(calls.fail[0].details.exact, undefined);
  assert(calls.fail[0].reason.includes("even with every table free"), calls.fail[0].reason);
});

Deno.test("when the exact fallback proves no re-seating makes room, the booking goes to review as no_table_fits", async () => {
  const { store, calls } = fakeStore({
    begin: () => onlyExactSeats(true),
    fail: (args) => ({ outcome: "manual_review", reason: args.reason }),
  });
  const outcome = await processBooking(
    store,
    BOOKING,
    "test",
    options({ strategy: "scarcity_fit", reoptimizeMaxMoves: 1 }),
  );
  assertEquals(calls.commit.length, 0);
  assertEquals(calls.fail[0].kind, "no_fit");
  assert(calls.fail[0].reason.startsWith("no_table_fits: "), calls.fail[0].reason);
  assert(
    calls.fail[0].reason.endsWith(
      "no re-seating of the 1 booking that may still move makes room (exact search)",
    ),
  );
  assertEquals((calls.fail[0].details.exact as { verdict: string }).verdict, "none");
  assertEquals(outcome, { outcome: "manual_review", reason: calls.fail[0].reason });
});

Deno.test("when the exact fallback runs out of budget, the booking goes to review with a reason of its own", async () => {
  const budgets: number[] = [];
  const { store, calls } = fakeStore({
    begin: () => onlyExactSeats(),
    fail: (args) => ({ outcome: "manual_review", reason: args.reason }),
  });
  const outcome = await processBooking(store, BOOKING, "test", {
    ...options({ strategy: "scarcity_fit", reoptimizeMaxMoves: 1, exactTimeLimitMs: 300 }),
    exactSolver: {
      solve: (_milp, limit) => {
        budgets.push(limit);
        return Promise.resolve({ status: "budget_exhausted", why: "time" });
      },
      decide: () => Promise.resolve("undecided"),
    },
  });
  assert(budgets.length === 1 && budgets[0] > 250 && budgets[0] <= 300, `the configured budget: ${budgets}`);
  assertEquals(calls.fail[0].kind, "no_fit");
  assert(calls.fail[0].reason.startsWith("exact_search_budget_exhausted: "), calls.fail[0].reason);
  assert(calls.fail[0].reason.includes("ran out of its 300 ms budget"), calls.fail[0].reason);
  assertEquals(outcome.outcome, "manual_review");
});

Deno.test("a solver that fails is no verdict on the room: the first attempt is tried again, a later one goes to review", async () => {
  const broken: ExactSolver = {
    solve: () => Promise.reject(new Error("highs.wasm could not be instantiated")),
    decide: () => Promise.reject(new Error("highs.wasm could not be instantiated")),
  };
  const kinds: string[] = [];
  for (const attempt of [1, 2]) {
    const { store, calls } = fakeStore({
      begin: () => ({ ...onlyExactSeats(), attempt }),
      fail: (
        args,
      ) => (args.kind === "no_fit" ? { outcome: "manual_review", reason: args.reason } : retry(args.reason)),
    });
    const outcome = await processBooking(store, BOOKING, "test", {
      ...options({ strategy: "scarcity_fit", reoptimizeMaxMoves: 1 }),
      exactSolver: broken,
    });
    assertEquals(calls.commit.length, 0);
    const { kind, reason } = calls.fail[0];
    assert(reason.startsWith("exact_search_budget_exhausted: "), reason);
    assert(reason.includes("stopped when the solver failed"), reason);
    assertEquals(reason.endsWith("a fault, not a verdict, so it is tried again"), attempt === 1, reason);
    assertEquals(outcome.outcome, attempt === 1 ? "retry" : "manual_review");
    kinds.push(kind);
  }
  // A conflict neither counts toward the breaker nor closes it; the second attempt's review is the verdict.
  assertEquals(kinds, ["conflict", "no_fit"]);
});

Deno.test("an exception the exact fallback throws outside the solver is an engine error, not an infrastructure one", async () => {
  // Every answer puts each booking on its first option, which here gives the party and another booking the
  // same table: the whole period's model clashing is the fallback's own invariant broken, so it throws.
  const clashing: ExactSolver = {
    solve: (milp) => Promise.resolve({ status: "optimal", choice: milp.columnOf.map(() => 0) }),
    decide: () => Promise.resolve("feasible"),
  };
  const { store, calls } = fakeStore({ begin: () => onlyExactSeats(), fail: (args) => retry(args.reason) });
  const outcome = await processBooking(store, BOOKING, "test", {
    ...options({ strategy: "scarcity_fit", reoptimizeMaxMoves: 1 }),
    exactSolver: clashing,
  });
  assertEquals(calls.commit.length, 0);
  assertEquals(calls.fail[0].kind, "error");
  assert(
    calls.fail[0].reason.startsWith("engine_error: the exact model's answer clashes"),
    calls.fail[0].reason,
  );
  assertEquals(outcome.outcome, "retry");
});

Deno.test("the exact fallback's budget is the attempt's: re-plans after lost races get what is left", async () => {
  // Every call of the solver takes 200 ms of the coordinator's clock (the fallback asks it three times here),
  // and the first two commits lose their race: the first re-plan's fallback gets at most the 400 ms the first
  // left, the second re-plan's nothing, and the attempt ends as a conflict, to be tried again with a whole
  // budget: running out of what lost races left says nothing of the booking.
  let clock = 0;
  const given: { ms: number; commits: number }[] = [];
  const timed = <T>(ms: number, answer: () => Promise<T>) => {
    given.push({ ms, commits: calls.commit.length });
    clock += 200;
    return answer();
  };
  const lost = commitResultSchema.parse({
    outcome: "conflict",
    busy_tables: [],
    snapshot: onlyExactSeats().snapshot,
  });
  const { store, calls } = fakeStore({
    begin: () => onlyExactSeats(),
    commit: (_args, call) => call < 2 ? lost : confirmed,
    fail: (args) => ({ outcome: "manual_review", reason: args.reason }),
  });
  const outcome = await processBooking(store, BOOKING, "test", {
    ...options({ strategy: "scarcity_fit", reoptimizeMaxMoves: 1, exactTimeLimitMs: 1000 }),
    now: () => clock,
    exactSolver: {
      solve: (milp, ms) => timed(ms, () => highsSolver.solve(milp, ms)),
      decide: (milp, ms) => timed(ms, () => highsSolver.decide(milp, ms)),
    },
  });
  assert(given.some((g) => g.commits === 1), "the re-plan asked the solver");
  for (const g of given) {
    assert(g.ms <= (g.commits === 0 ? 1000 : 400), `budget given: ${JSON.stringify(given)}`);
  }
  assertEquals(given.filter((g) => g.commits === 2), [], "no time was left for the second re-plan");
  assertEquals(calls.commit.length, 2);
  assertEquals(calls.fail[0].kind, "conflict");
  assert(
    calls.fail[0].reason.startsWith("exact_search_budget_exhausted: ") &&
      calls.fail[0].reason.endsWith(
        "that was what 2 lost races left of the attempt's 1000 ms, so it is tried again",
      ),
    calls.fail[0].reason,
  );
  assertEquals(outcome.outcome, "manual_review", "as the fake store answers any failure");
});

Deno.test("without re-optimisation the exact fallback never runs", async () => {
  const { store, calls } = fakeStore({
    begin: () => ready([1, 2, 3, 4]),
    fail: (args) => ({ outcome: "manual_review", reason: args.reason }),
  });
  await processBooking(store, BOOKING, "test", {
    ...options(),
    exactSolver: {
      solve: () => Promise.reject(new Error("the exact fallback ran")),
      decide: () => Promise.reject(new Error("the exact fallback ran")),
    },
  });
  assertEquals(calls.fail[0].details.exact, undefined);
  assert(calls.fail[0].reason.startsWith("no_table_fits: "));
});

Deno.test("the exact fallback's solves take turns, each with its whole budget from the start of its turn", async () => {
  // Two attempts of one instance reach the fallback together; the solver holds the thread for 200 ms of a
  // 300 ms budget, as HiGHS does. Side by side, the second solve's budget would have lost the first's 200 ms.
  const budgets: number[] = [];
  const blocking: typeof highsSolver = {
    solve: (_milp, limit) => {
      budgets.push(limit);
      const start = performance.now();
      while (performance.now() - start < 200) { /* HiGHS holds the thread */ }
      return Promise.resolve({ status: "budget_exhausted", why: "time" });
    },
    decide: () => Promise.resolve("undecided"),
  };
  const attempt = () => {
    const { store } = fakeStore({
      begin: () => onlyExactSeats(),
      fail: (args) => ({ outcome: "manual_review", reason: args.reason }),
    });
    return processBooking(store, BOOKING, "test", {
      ...options({ strategy: "scarcity_fit", reoptimizeMaxMoves: 1, exactTimeLimitMs: 300 }),
      exactSolver: blocking,
    });
  };
  await Promise.all([attempt(), attempt()]);
  assertEquals(budgets.length, 2, `one solve each: ${budgets}`);
  assert(budgets.every((ms) => ms > 250), `each solve had its budget, not what the other left: ${budgets}`);
});

Deno.test("an attempt kept waiting for the solver past four budgets is tried again, not sent to review", async () => {
  // The first attempt's solve holds the thread for 300 ms; with a 50 ms budget the second waits at most 200.
  let solves = 0;
  const blocking: typeof highsSolver = {
    solve: () => {
      solves++;
      const start = performance.now();
      while (performance.now() - start < 300) { /* HiGHS holds the thread */ }
      return Promise.resolve({ status: "budget_exhausted", why: "time" });
    },
    decide: () => Promise.resolve("undecided"),
  };
  const attempt = () => {
    const { store, calls } = fakeStore({
      begin: () => onlyExactSeats(),
      fail: (args) => ({ outcome: "manual_review", reason: args.reason }),
    });
    return processBooking(store, BOOKING, "test", {
      ...options({ strategy: "scarcity_fit", reoptimizeMaxMoves: 1, exactTimeLimitMs: 50 }),
      exactSolver: blocking,
    }).then(() => calls.fail[0]);
  };
  const [first, second] = await Promise.all([attempt(), attempt()]);
  assertEquals(solves, 1, "only the first solved");
  assertEquals(first.kind, "no_fit", "the first ran out of its own whole budget: a verdict, as before");
  assertEquals(second.kind, "conflict");
  assert(
    second.reason.startsWith("exact_search_budget_exhausted: no free table") &&
      second.reason.endsWith(
        "the exact search waited over 200 ms for this instance's solver, busy with other bookings, so it is tried again",
      ),
    second.reason,
  );
});

Deno.test("an exact search over arrangements too many to list is a verdict, not tried again as a lost race", async () => {
  // The first plan is the exact fallback's, whose solves take 200 ms each of the coordinator's clock; its
  // commit loses the race to a snapshot of a zone whose tables nearly all join, where a party of twelve's
  // arrangements cannot all be listed. What that re-plan's fallback decides does not depend on the time lost
  // races left it: the booking goes to review with its reason, not back as a conflict.
  let clock = 0;
  const timed = <T>(answer: () => Promise<T>) => {
    clock += 200;
    return answer();
  };
  const raw = rawSnapshot();
  // The room of twoSixTopsApart: no connected six tables seat twelve, and the search cannot list them all.
  const room = twoSixTopsApart();
  const dense = {
    ...raw,
    booking: { ...raw.booking, party_size: 12 },
    max_tables: 6,
    tables: room.tables.map((t) => ({
      ...raw.tables[0],
      id: t.id,
      number: t.number,
      capacity: t.capacity,
      min_party_size: t.minPartySize,
      max_party_size: t.maxPartySize,
      movable: t.movable,
    })),
    adjacency: room.adjacency,
    reoptimize: true,
    placed: [],
  };
  const lost = commitResultSchema.parse({ outcome: "conflict", busy_tables: [], snapshot: dense });
  const { store, calls } = fakeStore({
    begin: () => onlyExactSeats(),
    commit: () => lost,
    fail: (args) => ({ outcome: "manual_review", reason: args.reason }),
  });
  await processBooking(store, BOOKING, "test", {
    ...options({ strategy: "scarcity_fit", reoptimizeMaxMoves: 1, exactTimeLimitMs: 1000 }),
    now: () => clock,
    exactSolver: {
      solve: (milp, ms) => timed(() => highsSolver.solve(milp, ms)),
      decide: (milp, ms) => timed(() => highsSolver.decide(milp, ms)),
    },
  });
  assertEquals(calls.commit.length, 1, "the first plan was committed, and lost");
  assertEquals(calls.fail[0].kind, "no_fit");
  assert(calls.fail[0].reason.includes("could not list every arrangement"), calls.fail[0].reason);
});
