import { assertEquals } from "../testing/assert.ts";
import { type AssignmentStore, type OfferReseatingArgs, StoreError } from "../store/port.ts";
import type { ReseatingProbesResult } from "../store/results.ts";
import { silentLogger } from "../telemetry/log.ts";
import type { ExactSolver } from "../engine/exact/highs.ts";
import { reseatReviews } from "./reseating.ts";

const REVIEW = "20000000-0000-4000-8000-000000000001";

/** A store with one review to search, answering probes and offers as scripted; records each offer call. */
function storeWith(
  probes: ReseatingProbesResult,
  offer: (a: OfferReseatingArgs) => Promise<"stored" | "stale">,
) {
  const offered: OfferReseatingArgs[] = [];
  const unexpected = () => Promise.reject(new Error("unexpected"));
  const store: AssignmentStore = {
    begin: unexpected,
    snapshot: unexpected,
    commit: unexpected,
    fail: unexpected,
    claimDue: unexpected,
    sweepNow: unexpected,
    claimNotifications: unexpected,
    completeNotification: unexpected,
    reviewsToReseat: () => Promise.resolve([REVIEW]),
    reseatingProbes: () => Promise.resolve(probes),
    offerReseating: (a) => (offered.push(a), offer(a)),
    close: () => Promise.resolve(),
  };
  return { store, offered };
}

const options = { strategy: "scarcity_fit", maxMoves: 5, budgetMs: 1000, logger: silentLogger };
const probe = { startAt: 0, offsetMinutes: 15, windowStart: 0, windowEnd: 1 };

Deno.test("a review whose search cannot run is stored as finding none, so it is not searched again", async () => {
  const { store, offered } = storeWith(
    { outcome: "ready", review: "7/x", search: 1, snapshot: { not: "a snapshot" }, probes: [probe] },
    () => Promise.resolve("stored"),
  );
  assertEquals(await reseatReviews(store, options), 0);
  assertEquals(offered.map((o) => [o.bookingId, o.review, o.offers]), [[REVIEW, "7/x", []]]);
});

Deno.test("offers the database refuses as malformed are stored as none; other errors are left to a later try", async () => {
  const refused = storeWith(
    { outcome: "ready", review: "7/x", search: 1, snapshot: { not: "a snapshot" }, probes: [] },
    (a) =>
      a.offers.length === 0 && refused.offered.length > 1 ? Promise.resolve("stored") : Promise.reject(
        new StoreError("AS005", "an offer starts at one of the booking's alternative times"),
      ),
  );
  assertEquals(await reseatReviews(refused.store, options), 0);
  assertEquals(refused.offered.length, 2, "stored again as none");
  const down = storeWith(
    { outcome: "ready", review: "7/x", search: 1, snapshot: {}, probes: [] },
    () => Promise.reject(new StoreError("08006", "connection lost")),
  );
  assertEquals(await reseatReviews(down.store, options), 0, "never throws");
  assertEquals(down.offered.length, 1, "no second store after an error that is not the offer's");
});

Deno.test("a review skipped by the database, or a search turned off, stores nothing", async () => {
  const skipped = storeWith({ outcome: "skip", reason: "restaurant_busy" }, () => Promise.resolve("stored"));
  assertEquals(await reseatReviews(skipped.store, options), 0);
  assertEquals(skipped.offered, []);
  const off = storeWith({ outcome: "skip", reason: "x" }, () => Promise.resolve("stored"));
  assertEquals(await reseatReviews(off.store, { ...options, budgetMs: 0 }), 0);
  assertEquals(off.offered, []);
});

Deno.test("the times a search's budget left undecided are stored with its offers, for a later search to try", async () => {
  // A party of four; the only 4-top is held by a couple who could move to the free 2-top. With no moves allowed
  // to the bounded search and a solver whose relaxations settle nothing and whose full model never answers,
  // the solver spends the budget on the first time and the second is never tried: that one is left for a
  // later search.
  const [four, two, zone, couple] = [
    "30000000-0000-4000-8000-000000000004",
    "30000000-0000-4000-8000-000000000002",
    "30000000-0000-4000-8000-00000000000a",
    "30000000-0000-4000-8000-00000000000c",
  ];
  const at = (minutes: number) => new Date(Date.UTC(2030, 9, 7, 19, minutes)).toISOString();
  const table = (id: string, number: string, capacity: number) => ({
    id,
    number,
    zone_id: zone,
    capacity,
    min_party_size: 1,
    max_party_size: capacity,
    movable: true,
  });
  const snapshot = {
    booking: {
      id: REVIEW,
      restaurant_id: zone,
      party_size: 4,
      start_at: at(0),
      window_start: at(0),
      window_end: at(90),
    },
    max_tables: 3,
    horizon_minutes: 360,
    tables: [table(four, "T4", 4), table(two, "T2", 2)],
    adjacency: [],
    busy: [{ table_id: four, start: at(-60), end: at(150) }],
    reoptimize: true,
    placed: [{
      id: couple,
      party_size: 2,
      window_start: at(-60),
      window_end: at(150),
      table_ids: [four],
      locked: false,
    }],
  };
  const probes = [15, -15].map((m) => ({
    startAt: Date.parse(at(m)),
    offsetMinutes: m,
    windowStart: Date.parse(at(m)),
    windowEnd: Date.parse(at(m + 90)),
  }));
  const stalling: ExactSolver = {
    solve: (_milp, ms) =>
      new Promise((resolve) => setTimeout(() => resolve({ status: "budget_exhausted", why: "time" }), ms)),
    decide: () => Promise.resolve("undecided"),
  };
  const { store, offered } = storeWith(
    { outcome: "ready", review: "7/x", search: 1, snapshot, probes },
    () => Promise.resolve("stored"),
  );
  assertEquals(await reseatReviews(store, { ...options, maxMoves: 0, budgetMs: 50, solver: stalling }), 0);
  assertEquals(offered.map((o) => [o.offers, o.undecided]), [[[], [probes[1].startAt]]]);
  // With the solver's answer, the same review is settled: the couple moves, nothing is left undecided.
  const settled = storeWith(
    { outcome: "ready", review: "7/x", search: 1, snapshot, probes },
    () => Promise.resolve("stored"),
  );
  assertEquals(await reseatReviews(settled.store, options), 1);
  assertEquals(settled.offered.map((o) => [o.offers.length, o.undecided]), [[2, []]]);
});
