import { assertEquals } from "../testing/assert.ts";
import { type AssignmentStore, type OfferReseatingArgs, StoreError } from "../store/port.ts";
import type { ReseatingProbesResult } from "../store/results.ts";
import { silentLogger } from "../telemetry/log.ts";
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
    { outcome: "ready", review: "7/x", snapshot: { not: "a snapshot" }, probes: [probe] },
    () => Promise.resolve("stored"),
  );
  assertEquals(await reseatReviews(store, options), 0);
  assertEquals(offered.map((o) => [o.bookingId, o.review, o.offers]), [[REVIEW, "7/x", []]]);
});

Deno.test("offers the database refuses as malformed are stored as none; other errors are left to a later try", async () => {
  const refused = storeWith(
    { outcome: "ready", review: "7/x", snapshot: { not: "a snapshot" }, probes: [] },
    (a) =>
      a.offers.length === 0 && refused.offered.length > 1 ? Promise.resolve("stored") : Promise.reject(
        new StoreError("AS005", "an offer starts at one of the booking's alternative times"),
      ),
  );
  assertEquals(await reseatReviews(refused.store, options), 0);
  assertEquals(refused.offered.length, 2, "stored again as none");
  const down = storeWith(
    { outcome: "ready", review: "7/x", snapshot: {}, probes: [] },
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
