// An instance's attempt slots: never more than their number at once, first come first served, a slot handed
// straight to the next waiter, and a waiter whose time ran out never run.
import { assertEquals, assertRejects } from "../testing/assert.ts";
import { attemptSlots } from "./attempt-slots.ts";

const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("no more than the slots run at once, and the others run in the order they came", async () => {
  const inSlot = attemptSlots(3);
  let running = 0;
  let peak = 0;
  const order: number[] = [];
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
    inSlot(async () => {
      order.push(i);
      peak = Math.max(peak, ++running);
      await tick(2);
      running--;
      return i * 10;
    }, 10_000)));
  assertEquals(peak, 3);
  assertEquals(order, Array.from({ length: 20 }, (_, i) => i), "first come, first served");
  assertEquals(results, Array.from({ length: 20 }, (_, i) => i * 10), "each gets its own work's answer");
});

Deno.test("a waiter whose time runs out is answered undefined and its work never runs; the slot goes on to the next", async () => {
  const inSlot = attemptSlots(1);
  let release = () => {};
  const holding = inSlot(() => new Promise<string>((resolve) => (release = () => resolve("held"))), 10);
  const ran: string[] = [];
  const late = inSlot(() => Promise.resolve(void ran.push("late")).then(() => "late"), 5);
  await tick(20);
  const patient = inSlot(() => Promise.resolve(void ran.push("patient")).then(() => "patient"), 1_000);
  // One arriving while the slot passes to the patient one must not take it first.
  release();
  const eager = inSlot(() => Promise.resolve(void ran.push("eager")).then(() => "eager"), 1_000);
  assertEquals(await Promise.all([holding, late, patient, eager]), ["held", undefined, "patient", "eager"]);
  assertEquals(
    ran,
    ["patient", "eager"],
    "the expired waiter never ran, and the patient one ran before the eager one",
  );
});

Deno.test("work that throws gives its slot back", async () => {
  const inSlot = attemptSlots(2);
  await assertRejects(() => inSlot(() => Promise.reject(new Error("lost")), 1));
  // Both slots free again: two at once start without waiting (a slot kept by the failure would leave the
  // second waiting past its 1 ms, answered undefined).
  const both = await Promise.all([0, 1].map((i) => inSlot(() => tick(5).then(() => i), 1)));
  assertEquals(both, [0, 1]);
});
