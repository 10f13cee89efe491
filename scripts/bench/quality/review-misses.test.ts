import { assertEquals } from "../../../shared/testing/assert.ts";
import { T0, table } from "../../../shared/testing/tables.ts";
import type { AlternativesInput } from "./review-alternatives.ts";
import { missCauses } from "./review-misses.ts";

const MIN = 60_000;
const four = table(1, 4);

/** One 4-top, a 90-minute stay requested at 19:00 (T0 + 2 h) in a 17:00–23:00 service. */
function input(held: [number, number][], extra: Partial<AlternativesInput> = {}): AlternativesInput {
  const open: [number, number] = [T0, T0 + 360 * MIN];
  return {
    partySize: 4,
    startAt: T0 + 120 * MIN,
    stayMs: 90 * MIN,
    bufferBeforeMs: 0,
    bufferAfterMs: 0,
    now: T0 - 600 * MIN,
    tables: [four],
    adjacency: [],
    maxTables: 1,
    isOpen: (start, end) => start >= open[0] && end <= open[1],
    isFree: (_ids, start, end) => held.every(([a, b]) => end <= T0 + a * MIN || T0 + b * MIN <= start),
    ...extra,
  };
}

Deno.test("a miss whose every time within ±90 minutes is full is peak saturation", () => {
  assertEquals(missCauses(input([[0, 360]])), ["saturation"]);
});

Deno.test("a review with a free time nearby is no miss", () => {
  assertEquals(missCauses(input([[0, 200]])), []);
});

Deno.test("times before the request was made and after the close are counted as cuts", () => {
  const late = { startAt: T0 + 255 * MIN, now: T0 + 250 * MIN };
  assertEquals(missCauses(input([[0, 360]], late)).sort(), ["past", "service_end"]);
});

Deno.test("a party no arrangement seats has a cause of its own", () => {
  assertEquals(missCauses(input([], { partySize: 9 })), ["no_arrangement"]);
});
