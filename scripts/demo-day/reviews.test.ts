// The demo's smoke test fails on a review the pipeline caused, never on one demand did.
import { assertEquals } from "../../shared/testing/assert.ts";
import { isDemand, reasonCode } from "./reviews.ts";

Deno.test("a review for demand is expected; one for a fault is not", () => {
  const cases: [string, boolean][] = [
    ["no_table_fits: no free table or combination seats a party of 2 at 18:15 Europe/London", true],
    ["exact_search_budget_exhausted: the exact search ran out of its 1000 ms", true],
    ["attempts_exhausted: 5 attempts failed; last: no_table_fits: none free", true],
    ["attempts_exhausted: 5 attempts failed; last: exact_search_budget_exhausted: waited over 4000 ms", true],
    ["exact_search_budget_exhausted: 3 bookings that may still move stopped when the solver failed", false],
    ["attempts_exhausted: 5 attempts failed; last: engine_error: boom", false],
    ["attempts_exhausted: 5 attempts failed; last: commit_conflict", false],
    ["attempts_exhausted: 5 attempts failed", false],
    ["coordinator_unreachable: dispatched 12 times", false],
    ["rate_limited: waited 10 minutes for a concurrency slot", false],
    ["circuit_open: deferred for 10 minutes", false],
    ["no_table_fits", true],
    ["", false],
  ];
  for (const [reason, expected] of cases) assertEquals(isDemand(reason), expected, reason);
  assertEquals(reasonCode("party_too_large: a party of 30"), "party_too_large");
});
