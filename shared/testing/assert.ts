// Assertions for Deno tests. Deno's std assert module lives on JSR, which this project cannot reach,
// so the few assertions the tests need are built on node:assert, which ships with Deno.
import { deepStrictEqual, ok, strictEqual } from "node:assert";

export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  if (typeof expected === "object" && expected !== null) deepStrictEqual(actual, expected, message);
  else strictEqual(actual, expected, message);
}

export function assert(condition: unknown, message?: string): asserts condition {
  ok(condition, message);
}

export async function assertRejects(fn: () => Promise<unknown>, message?: string): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new Error(message ?? "expected the call to reject");
}
