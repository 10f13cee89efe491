import { assertEquals, assertRejects } from "../testing/assert.ts";
import { within } from "./within.ts";

const after = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

Deno.test("within answers the work's result when it comes in time, and undefined when it does not", async () => {
  assertEquals(await within(Promise.resolve("rows"), 50), "rows");
  let late = false;
  const work = after(30, "late").then((v) => (late = true, v));
  assertEquals(await within(work, 5), undefined);
  assertEquals(late, false, "answered before the work ended");
  assertEquals(await work, "late", "and the work went on");
});

Deno.test("within passes on a failure that comes in time", async () => {
  const error = await assertRejects(() => within(Promise.reject(new Error("database down")), 50));
  assertEquals((error as Error).message, "database down");
});
