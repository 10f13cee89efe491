import { assertEquals } from "../testing/assert.ts";
import { booking } from "../testing/rooms.ts";
import { MIN, T0, table } from "../testing/tables.ts";
import { unexplainedHolds } from "./availability.ts";

Deno.test("a hold is explained only by a placed booking on its table whose stay overlaps it; the rest keep their order", () => {
  const [a, b] = [table(1, 4), table(2, 4)];
  const placed = [booking("on-a", 2, [a], 0, 90)];
  const hold = (tableId: string, from: number, to: number) => ({
    tableId,
    start: T0 + from * MIN,
    end: T0 + to * MIN,
  });
  const busy = [
    hold(b.id, 0, 90), // another table
    hold(a.id, 0, 90), // the booking's own hold
    hold(a.id, 90, 120), // its table, after its stay (half-open)
    hold(a.id, -30, 10), // overlapping its stay
  ];
  assertEquals(unexplainedHolds(busy, placed), [busy[0], busy[2]]);
  assertEquals(unexplainedHolds(busy, []), busy);
});
