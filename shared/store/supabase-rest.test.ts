// The supabase-js store must send exactly what PostgREST expects for an RPC: POST /rest/v1/rpc/<name>
// with the named arguments as a JSON object and the service key as apikey and bearer token; and it must
// turn PostgREST's error body into a StoreError carrying the SQLSTATE.
import { assertEquals, assertRejects } from "../testing/assert.ts";
import { supabaseRestStore } from "./supabase-rest.ts";
import { StoreError } from "./port.ts";
import { z } from "../deps.ts";

interface Captured {
  url: string;
  method: string;
  headers: Headers;
  body: unknown;
}

function fakePostgrest(respond: (c: Captured) => Response) {
  const calls: Captured[] = [];
  const fetchImpl: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    const captured = {
      url: request.url,
      method: request.method,
      headers: request.headers,
      body: await request.json(),
    };
    calls.push(captured);
    return respond(captured);
  };
  return { calls, fetchImpl };
}

const KEY = "service-role-key-for-tests";
const BOOKING = "6f0b0c4e-8a4b-4c1e-9a53-2f8a9b1c0d11";

Deno.test("begin is POST /rest/v1/rpc/assignment_lease with named arguments and the service key", async () => {
  const { calls, fetchImpl } = fakePostgrest(() => Response.json({ outcome: "busy", reason: "leased" }));
  const store = supabaseRestStore("http://api.local", KEY, { fetch: fetchImpl });
  const result = await store.begin({ bookingId: BOOKING, trigger: "insert", maxParallel: 4 });
  assertEquals(result, { outcome: "busy", reason: "leased" });
  assertEquals(calls.length, 1);
  assertEquals(calls[0].method, "POST");
  assertEquals(calls[0].url, "http://api.local/rest/v1/rpc/assignment_lease");
  assertEquals(calls[0].headers.get("apikey"), KEY);
  assertEquals(calls[0].headers.get("authorization"), `Bearer ${KEY}`);
  assertEquals(calls[0].headers.get("content-type"), "application/json");
  assertEquals(calls[0].body, { p_booking_id: BOOKING, p_trigger: "insert", p_max_parallel: 4 });
});

Deno.test("begin sends the deployment's mode ceiling, and leaves it out when the flags set none", async () => {
  const { calls, fetchImpl } = fakePostgrest(() => Response.json({ outcome: "busy", reason: "leased" }));
  const store = supabaseRestStore("http://api.local", KEY, { fetch: fetchImpl });
  await store.begin({ bookingId: BOOKING, trigger: "insert", modeCeiling: "shadow" });
  await store.begin({ bookingId: BOOKING, trigger: "insert", modeCeiling: null });
  assertEquals(calls[0].body, { p_booking_id: BOOKING, p_trigger: "insert", p_mode_ceiling: "shadow" });
  assertEquals(calls[1].body, { p_booking_id: BOOKING, p_trigger: "insert" });
});

Deno.test("the snapshot is POST /rest/v1/rpc/assignment_snapshot with the booking and its lease", async () => {
  const { calls, fetchImpl } = fakePostgrest(() => Response.json({ outcome: "lease_lost" }));
  const store = supabaseRestStore("http://api.local", KEY, { fetch: fetchImpl });
  const lease = "33333333-3333-4333-8333-333333333333";
  assertEquals(await store.snapshot({ bookingId: BOOKING, leaseToken: lease }), { outcome: "lease_lost" });
  assertEquals(calls[0].url, "http://api.local/rest/v1/rpc/assignment_snapshot");
  assertEquals(calls[0].body, { p_booking_id: BOOKING, p_lease_token: lease });
});

Deno.test("commit sends table ids as a JSON array for the uuid[] parameter", async () => {
  const { calls, fetchImpl } = fakePostgrest(() => Response.json({ outcome: "lease_lost" }));
  const store = supabaseRestStore("http://api.local", KEY, { fetch: fetchImpl });
  const tableIds = ["11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"];
  await store.commit({
    bookingId: BOOKING,
    leaseToken: "33333333-3333-4333-8333-333333333333",
    tableIds,
    strategy: "optimal_fit",
    durationMs: 12.4,
    metadata: { score: 1 },
  });
  assertEquals(calls[0].url, "http://api.local/rest/v1/rpc/assignment_commit");
  assertEquals(calls[0].body, {
    p_booking_id: BOOKING,
    p_lease_token: "33333333-3333-4333-8333-333333333333",
    p_table_ids: tableIds,
    p_strategy: "optimal_fit",
    p_duration_ms: 12,
    p_metadata: { score: 1 },
  });
});

Deno.test("re-optimisation's moves go as p_moves in the shape assignment_commit reads", async () => {
  const { calls, fetchImpl } = fakePostgrest(() => Response.json({ outcome: "lease_lost" }));
  const store = supabaseRestStore("http://api.local", KEY, { fetch: fetchImpl });
  const [t1, t2] = ["11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"];
  const moved = "44444444-4444-4444-8444-444444444444";
  await store.commit({
    bookingId: BOOKING,
    leaseToken: "33333333-3333-4333-8333-333333333333",
    tableIds: [t2],
    strategy: "scarcity_fit",
    durationMs: 3,
    metadata: {},
    moves: [{ bookingId: moved, fromTableIds: [t2], toTableIds: [t1] }],
  });
  assertEquals((calls[0].body as Record<string, unknown>).p_moves, [
    { booking_id: moved, from_table_ids: [t2], to_table_ids: [t1] },
  ]);
});

Deno.test("a PostgREST error becomes a StoreError with the SQLSTATE and message", async () => {
  const { fetchImpl } = fakePostgrest(() =>
    Response.json(
      { code: "AS005", message: "kind must be one of no_fit, conflict, error", details: null, hint: null },
      { status: 400 },
    )
  );
  const store = supabaseRestStore("http://api.local", KEY, { fetch: fetchImpl });
  const error = await assertRejects(() =>
    store.fail({
      bookingId: BOOKING,
      leaseToken: "33333333-3333-4333-8333-333333333333",
      kind: "error",
      reason: "x",
      durationMs: 1,
      details: {},
    })
  );
  assertEquals(error instanceof StoreError, true);
  assertEquals((error as StoreError).code, "AS005");
  assertEquals((error as StoreError).message, "kind must be one of no_fit, conflict, error");
});

Deno.test("a response that does not match the RPC's contract is rejected, not trusted", async () => {
  const { calls, fetchImpl } = fakePostgrest(() => Response.json({ outcome: "ready" }));
  const store = supabaseRestStore("http://api.local", KEY, { fetch: fetchImpl });
  const error = await assertRejects(() => store.begin({ bookingId: BOOKING, trigger: "insert" }));
  assertEquals(calls.length, 1, "the RPC was called and its response read");
  assertEquals(calls[0].url, "http://api.local/rest/v1/rpc/assignment_lease");
  // Refused by the result's schema (a "ready" without its lease), not by a transport or store error.
  assertEquals(error instanceof z.ZodError, true, `a schema error, got ${error}`);
  const missing = (error as z.ZodError).issues.flatMap((i) => i.path.map(String));
  for (const field of ["lease_token", "attempt", "mode"]) {
    assertEquals(missing.includes(field), true, `${field} is reported missing (${missing})`);
  }
});

Deno.test("a send's result names p_permanent, p_may_have_arrived, p_retry_after_ms and p_not_sent only when set, so an older database still takes it", async () => {
  const { calls, fetchImpl } = fakePostgrest(() => Response.json("pending"));
  const store = supabaseRestStore("http://api.local", KEY, { fetch: fetchImpl });
  const lease = { id: 7, leaseToken: BOOKING };
  await store.completeNotification({ ...lease, ok: true });
  await store.completeNotification({ ...lease, ok: false, error: "webhook answered 503" });
  await store.completeNotification({
    ...lease,
    ok: false,
    error: "webhook refused the message (422)",
    permanent: true,
  });
  await store.completeNotification({
    ...lease,
    ok: false,
    error: "webhook answered 504",
    mayHaveArrived: true,
  });
  await store.completeNotification({
    ...lease,
    ok: false,
    error: "webhook answered 429",
    retryAfterMs: 5000,
  });
  await store.completeNotification({ ...lease, ok: false, error: "not sent", notSent: true });
  assertEquals(calls.map((c) => [new URL(c.url).pathname, c.body]), [
    ["/rest/v1/rpc/notification_complete", { p_id: 7, p_lease_token: BOOKING, p_ok: true }],
    ["/rest/v1/rpc/notification_complete", {
      p_id: 7,
      p_lease_token: BOOKING,
      p_ok: false,
      p_error: "webhook answered 503",
    }],
    ["/rest/v1/rpc/notification_complete", {
      p_id: 7,
      p_lease_token: BOOKING,
      p_ok: false,
      p_error: "webhook refused the message (422)",
      p_permanent: true,
    }],
    ["/rest/v1/rpc/notification_complete", {
      p_id: 7,
      p_lease_token: BOOKING,
      p_ok: false,
      p_error: "webhook answered 504",
      p_may_have_arrived: true,
    }],
    ["/rest/v1/rpc/notification_complete", {
      p_id: 7,
      p_lease_token: BOOKING,
      p_ok: false,
      p_error: "webhook answered 429",
      p_retry_after_ms: 5000,
    }],
    ["/rest/v1/rpc/notification_complete", {
      p_id: 7,
      p_lease_token: BOOKING,
      p_ok: false,
      p_error: "not sent",
      p_not_sent: true,
    }],
  ]);
});

Deno.test("an RPC that does not answer in time is given up on: the request is aborted and a 57014 reported", async () => {
  let aborted = false;
  // PostgREST that never answers, but notices when the caller hangs up.
  const fetchImpl: typeof fetch = (_input, init) =>
    new Promise((_, reject) =>
      init?.signal?.addEventListener("abort", () => {
        aborted = true;
        reject(init.signal!.reason);
      })
    );
  const store = supabaseRestStore("http://api.local", KEY, { fetch: fetchImpl, rpcTimeoutMs: 50 });
  const error = await assertRejects(() => store.begin({ bookingId: BOOKING, trigger: "insert" }));
  assertEquals(error instanceof StoreError && error.code, "57014", `a timeout, got ${error}`);
  assertEquals(aborted, true, "the request was aborted");
});
