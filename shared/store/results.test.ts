// A claimed notification row that does not parse is recorded as a failed send under its claim, so it goes on
// to dead by itself; the rows that parse are delivered as usual. A lease answer parses whatever its measured
// waits read.
import { assertEquals } from "../testing/assert.ts";
import { leaseResultSchema, parseClaimedNotifications } from "./results.ts";

const row = (id: number, kind: string) => ({
  id,
  lease_token: `00000000-0000-4000-8000-${String(id).padStart(12, "0")}`,
  booking_id: "20000000-0000-4000-8000-000000000001",
  kind,
  dedupe_key: `b:${id}`,
  payload: {},
  attempts: 1,
  recipient_email: null,
  recipient_name: null,
});

Deno.test("a claimed row that does not parse is recorded as failed, and the others are delivered", async () => {
  const failed: [number, string, string][] = [];
  const parsed = await parseClaimedNotifications(
    [row(1, "booking_confirmed"), row(2, "booking_reminder"), { id: "x" }, row(3, "booking_cancelled")],
    (id, lease, error) => Promise.resolve(failed.push([id, lease, error])),
  );
  assertEquals(parsed.map((n) => n.id), [1, 3]);
  assertEquals(failed.map(([id, lease]) => [id, lease]), [[2, "00000000-0000-4000-8000-000000000002"]]);
  assertEquals(failed[0][2].startsWith("the claimed row does not parse (kind: "), true, failed[0][2]);
});

Deno.test("a row that does not parse and whose failure cannot be recorded does not cost the batch", async () => {
  const parsed = await parseClaimedNotifications(
    [row(1, "booking_confirmed"), row(2, "booking_reminder"), row(3, "booking_changed")],
    () => Promise.reject(new Error("connection reset")),
  );
  assertEquals(parsed.map((n) => n.id), [1, 3], "the rows that parse are still delivered");
});

Deno.test("a lease taken while the server's clock stepped back parses: its waits may read negative", () => {
  const answer = {
    outcome: "ready",
    lease_token: "00000000-0000-4000-8000-000000000001",
    attempt: 1,
    mode: "v3",
    shadow_candidate: "v3",
    lock_wait_ms: -3.2,
    slot_wait_ms: -0.4,
  };
  assertEquals(leaseResultSchema.parse(answer).outcome, "ready");
});
