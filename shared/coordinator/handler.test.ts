// The coordinator's requests before any work: a body too large to be a dispatch is refused (413) without
// being read in full and without touching the database.
import { assertEquals } from "../testing/assert.ts";
import type { AssignmentStore } from "../store/port.ts";
import { silentLogger } from "../telemetry/log.ts";
import { loadCoordinatorConfig } from "./config.ts";
import { createCoordinatorHandler } from "./handler.ts";

const SECRET = "s".repeat(32);

function untouchedStore() {
  const calls: string[] = [];
  const record = (name: string) => () => {
    calls.push(name);
    return Promise.reject(new Error(`unexpected call: ${name}`));
  };
  const store: AssignmentStore = {
    begin: record("begin"),
    commit: record("commit"),
    fail: record("fail"),
    claimDue: record("claimDue"),
    claimNotifications: record("claimNotifications"),
    completeNotification: record("completeNotification"),
    close: () => Promise.resolve(),
  };
  return { calls, store };
}

Deno.test("a body over the ceiling is refused with 413 and nothing reaches the database", async () => {
  const { calls, store } = untouchedStore();
  const handler = createCoordinatorHandler({
    store,
    config: loadCoordinatorConfig(
      { ASSIGNMENT_PIPELINE_SECRET: SECRET, ASSIGNMENT_DRAIN_BUDGET_MS: "0" },
      () => {},
    ),
    logger: silentLogger,
  });
  const padded = JSON.stringify({ booking_id: crypto.randomUUID(), trigger: "x".repeat(200 * 1024) });
  for (
    const body of [
      padded,
      // No declared length: refused once the bytes received pass the ceiling.
      new Blob([padded]).stream(),
    ]
  ) {
    const response = await handler(
      new Request("http://local/functions/v1/assignment-coordinator", {
        method: "POST",
        headers: { authorization: `Bearer ${SECRET}`, "content-type": "application/json" },
        body,
      }),
    );
    assertEquals(response.status, 413);
    assertEquals((await response.json()).error.code, "body_too_large");
  }
  assertEquals(calls, []);
});
