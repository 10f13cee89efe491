import { assert, assertEquals } from "../../../shared/testing/assert.ts";
import {
  goodputWindows,
  keptUp,
  measuredCapacity,
  nextProbeRate,
  perBooking,
  rateBetween,
  redispatches,
  round,
  summary,
} from "./stats.ts";

Deno.test("summary: nearest-rank percentiles of a sample, NaN for an empty one", () => {
  const s = summary(Array.from({ length: 100 }, (_, i) => i + 1));
  assertEquals([s.p50, s.p95, s.p99, s.max, s.n], [50, 95, 99, 100, 100]);
  const empty = summary([]);
  assert(Number.isNaN(empty.p95) && Number.isNaN(empty.max) && empty.n === 0);
});

Deno.test("goodput windows count terminal times per second, the last short window by its own length", () => {
  // 10 per second for 10 s, then 2 more in the next 2.5 s.
  const times = [...Array.from({ length: 100 }, (_, i) => i / 10), 11, 12];
  assertEquals(goodputWindows(times, 5, 12.5), [
    { from_s: 0, to_s: 5, per_s: 10 },
    { from_s: 5, to_s: 10, per_s: 10 },
    { from_s: 10, to_s: 12.5, per_s: 0.8 },
  ]);
  assertEquals(goodputWindows([], 5, 0), []);
});

Deno.test("rate between two times includes both ends; an empty interval has no rate", () => {
  assertEquals(rateBetween([0, 1, 2, 3, 4], 1, 3), 1.5);
  assert(Number.isNaN(rateBetween([1], 2, 2)));
});

Deno.test("re-dispatches count pick-ups beyond each booking's first", () => {
  assertEquals(redispatches([1, 1, 3, 2]), 3);
  assertEquals(redispatches([]), 0);
});

Deno.test("per-booking ratios round, and are NaN without bookings", () => {
  assertEquals(perBooking(10, 3), 3.33);
  assert(Number.isNaN(perBooking(1, 0)));
  assertEquals(round(1.25, 1), 1.3);
});

Deno.test("summary takes samples larger than a call's argument limit", () => {
  assertEquals(summary(Array.from({ length: 300_000 }, (_, i) => i)).max, 299_999);
});

Deno.test("the measured capacity is the most goodput of any point, past the knee or not; none without goodput", () => {
  // Held at 50 and 100/s, saturated at 150/s offered: 132/s is what the pipeline did at most.
  assertEquals(
    measuredCapacity([{ goodput_per_s: 49.8 }, { goodput_per_s: 99.1 }, { goodput_per_s: 132 }]),
    132,
  );
  // A point past the knee may do less than the one before it.
  assertEquals(measuredCapacity([{ goodput_per_s: 190 }, { goodput_per_s: 170 }]), 190);
  // A point with no terminal bookings has no rate (NaN) and does not hide the others.
  assertEquals(measuredCapacity([{ goodput_per_s: NaN }, { goodput_per_s: 20 }]), 20);
  assert(Number.isNaN(measuredCapacity([])) && Number.isNaN(measuredCapacity([{ goodput_per_s: NaN }])));
});

Deno.test("the capacity probe tries halfway between the highest rate kept up with and the first not, to within 10 %", () => {
  const p = (planned: number, goodput: number) => ({ planned_rate_per_s: planned, goodput_per_s: goodput });
  assert(keptUp(p(100, 90)) && !keptUp(p(100, 89.9)));
  // Kept up with 100/s, not with 150/s: try 125/s; kept up with that too, try 138/s; kept up again, and 138
  // to 150 is within 10 %: done. Had 138/s failed, 125 to 138 is not: 132/s.
  assertEquals(nextProbeRate([p(50, 50), p(100, 99), p(150, 83)]), 125);
  assertEquals(nextProbeRate([p(50, 50), p(100, 99), p(150, 83), p(125, 120)]), 138);
  assertEquals(nextProbeRate([p(100, 99), p(150, 83), p(125, 120), p(138, 130)]), null);
  assertEquals(nextProbeRate([p(100, 99), p(150, 83), p(125, 120), p(138, 110)]), 132);
  // Nothing kept up, or nothing failed: nothing to refine.
  assertEquals(nextProbeRate([p(20, 10)]), null);
  assertEquals(nextProbeRate([p(20, 20), p(50, 50)]), null);
});
