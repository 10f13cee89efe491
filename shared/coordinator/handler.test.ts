// The coordinator's requests before any work: a body too large to be a dispatch is refused (413) without
// being read in full, one that does not arrive in time is refused (408), and one whose stream breaks off is
// refused (400), without touching the database.
import { assertEquals } from "../testing/assert.ts";
import type { AssignmentStore } from "../store/port.ts";
import { silentLogger } from "../telemetry/log.ts";
import { loadCoordinatorConfig } from "./config.ts";
import { coordinatorOptions, createCoordinatorHandler } from "./handler.ts";

const SECRET = "s".repeat(32);

/** A dispatch as pg_net posts it, with the secret. */
function dispatchRequest(body: BodyInit): Request {
  return new Request("http://local/functions/v1/assignment-coordinator", {
    method: "POST",
    headers: { authorization: `Bearer ${SECRET}`, "content-type": "application/json" },
    body,
  });
}

function untouchedStore() {
  const calls: string[] = [];
  const record = (name: string) => () => {
    calls.push(name);
    return Promise.reject(new Error(`unexpected call: ${name}`));
  };
  const store: AssignmentStore = {
    begin: record("begin"),
    snapshot: record("snapshot"),
    commit: record("commit"),
    fail: record("fail"),
    claimDue: record("claimDue"),
    sweepNow: record("sweepNow"),
    reviewsToReseat: record("reviewsToReseat"),
    reseatingProbes: record("reseatingProbes"),
    offerReseating: record("offerReseating"),
    claimNotifications: record("claimNotifications"),
    completeNotification: record("completeNotification"),
    close: () => Promise.resolve(),
  };
  return { calls, store };
}

/** The coordinator's handler over `store`, without a drain after the request. */
function handlerOver(store: AssignmentStore) {
  return createCoordinatorHandler({
    store,
    config: loadCoordinatorConfig(
      { ASSIGNMENT_PIPELINE_SECRET: SECRET, ASSIGNMENT_DRAIN_BUDGET_MS: "0" },
      () => {},
    ),
    logger: silentLogger,
  });
}

Deno.test("a body over the ceiling is refused with 413 and nothing reaches the database", async () => {
  const { calls, store } = untouchedStore();
  const handler = handlerOver(store);
  const padded = JSON.stringify({ booking_id: crypto.randomUUID(), trigger: "x".repeat(200 * 1024) });
  for (
    const body of [
      padded,
      // No declared length: refused once the bytes received pass the ceiling.
      new Blob([padded]).stream(),
    ]
  ) {
    const response = await handler(
      dispatchRequest(body),
    );
    assertEquals(response.status, 413);
    assertEquals((await response.json()).error.code, "body_too_large");
  }
  assertEquals(calls, []);
});

Deno.test("a body that trickles in is refused at the deadline, before its signature is checked, with nothing read from the database", async () => {
  const { calls, store } = untouchedStore();
  const handler = handlerOver(store);
  // A made-up signature has the right shape, so only the body's arrival can end the request.
  const trickle = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode("{"));
    },
  });
  const response = await handler(
    new Request("http://local/functions/v1/assignment-coordinator", {
      method: "POST",
      headers: {
        authorization: `Bearer v1.1700000000.${"0".repeat(64)}`,
        "content-type": "application/json",
      },
      body: trickle,
    }),
  );
  assertEquals(response.status, 408);
  assertEquals((await response.json()).error.code, "body_too_slow");
  assertEquals(calls, []);
});

Deno.test("a body whose stream breaks off is refused with 400, not thrown, with nothing read from the database", async () => {
  const { calls, store } = untouchedStore();
  const handler = handlerOver(store);
  const broken = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode("{"));
    },
    pull(controller) {
      controller.error(new TypeError("connection reset"));
    },
  });
  const response = await handler(dispatchRequest(broken));
  assertEquals(response.status, 400);
  assertEquals((await response.json()).error.code, "body_broken");
  assertEquals(calls, []);
});

/** Runs one request's drain over `due` queued bookings; returns what it did. */
async function drainOnce(
  due: number,
  options: {
    env?: Record<string, string>;
    drainMaxMs?: number;
    refuseClaims?: number[];
    /** The runtime announces the instance's end right after this claim. */
    shutdownAfterClaim?: number;
    trigger?: string;
  } = {},
) {
  const shutdown = new AbortController();
  const queue = Array.from({ length: due }, () => crypto.randomUUID());
  const begun: string[] = [];
  const claimLimits: number[] = [];
  /** What each claim returned. */
  const claimed: string[][] = [];
  let inFlight = 0;
  let peak = 0;
  const finished: string[] = [];
  let swept = 0;
  /** Bookings still in progress at each sweep the drain asked for. */
  const inFlightAtSweep: number[] = [];
  /** Bookings finished when the drain asked for reviews to re-seat, at each ask. */
  const reseatAsked: number[] = [];
  const store: AssignmentStore = {
    ...untouchedStore().store,
    reviewsToReseat: () => Promise.resolve(void reseatAsked.push(finished.length)).then(() => []),
    claimDue: ({ limit }) => {
      claimLimits.push(limit + inFlight);
      if (shutdown.signal.aborted) throw new Error("claimed after the runtime announced the instance's end");
      if (options.refuseClaims?.includes(claimLimits.length)) {
        return Promise.reject(new Error("connection reset"));
      }
      if (options.shutdownAfterClaim === claimLimits.length) shutdown.abort();
      claimed.push(queue.splice(0, limit));
      return Promise.resolve(claimed.at(-1)!);
    },
    begin: async ({ bookingId }) => {
      begun.push(bookingId);
      peak = Math.max(peak, ++inFlight);
      // Let the other workers and the claim loop run while this one is busy.
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      finished.push(bookingId);
      return { outcome: "noop", reason: "terminal_state" } as Awaited<ReturnType<AssignmentStore["begin"]>>;
    },
    sweepNow: () => Promise.resolve(void swept++).then(() => void inFlightAtSweep.push(inFlight)),
  };
  // Catch the background work the handler hands to the runtime, to wait for the drain to end.
  const { background, restore } = fakeRuntime();
  try {
    const handler = createCoordinatorHandler({
      store,
      config: loadCoordinatorConfig({ ASSIGNMENT_PIPELINE_SECRET: SECRET, ...options.env }, () => {}),
      logger: silentLogger,
      drainMaxMs: options.drainMaxMs,
      shutdown: shutdown.signal,
    });
    const first = crypto.randomUUID();
    const response = await handler(
      dispatchRequest(
        JSON.stringify({ booking_id: first, ...(options.trigger ? { trigger: options.trigger } : {}) }),
      ),
    );
    assertEquals(response.status, 200);
    await Promise.all(background);
  } finally {
    restore();
  }
  return { queue, begun, finished, claimed, claimLimits, peak, swept, reseatAsked, inFlightAtSweep };
}

Deno.test("after a request the drain works through every due booking once, never more than its workers at a time", async () => {
  for (const [env, workers] of [[{}, 4], [{ ASSIGNMENT_DRAIN_WORKERS: "6" }, 6]] as const) {
    const { queue, begun, claimLimits, peak, swept } = await drainOnce(20, { env });
    assertEquals(queue, [], "every due booking was claimed");
    assertEquals(begun.length, 21, "the request's booking and the twenty due ones");
    assertEquals(new Set(begun).size, 21, "each begun once");
    assertEquals(peak, workers, `${workers} at a time once the queue is deep enough`);
    assertEquals(
      claimLimits.filter((n) => n > workers),
      [],
      "a claim never asks for more than the free workers",
    );
    assertEquals(swept, 0, "a drain that ran dry hands nothing over");
  }
});

Deno.test("once the drain has run dry, reviews are searched for re-seating alternatives, once; with no solver time, never", async () => {
  assertEquals(
    (await drainOnce(8)).reseatAsked,
    [9],
    "asked once, after the request's booking and the eight due",
  );
  assertEquals((await drainOnce(8, { env: { ASSIGNMENT_RESEATING_BUDGET_MS: "0" } })).reseatAsked, []);
  assertEquals(
    (await drainOnce(400, { drainMaxMs: 60 })).reseatAsked,
    [],
    "not after a drain that left work",
  );
  assertEquals(
    (await drainOnce(8, { env: { FEATURE_ASSIGNMENT_PIPELINE_V3: "false" } })).reseatAsked,
    [],
    "not where the deployment's flags keep V3 off",
  );
});

Deno.test("with the drain off, only a review the sweeper sends is searched after its request", async () => {
  const off = { ASSIGNMENT_DRAIN_BUDGET_MS: "0" };
  assertEquals((await drainOnce(0, { env: off })).reseatAsked, []);
  assertEquals((await drainOnce(0, { env: off, trigger: "reseating" })).reseatAsked, [1]);
});

Deno.test("a claim the database refuses does not end the drain: it claims again and finishes every booking", async () => {
  const { queue, begun } = await drainOnce(20, { refuseClaims: [2, 3] });
  assertEquals(queue, [], "every due booking was claimed after the refusals");
  assertEquals(new Set(begun).size, 21);
});

Deno.test("a drain stopped by its cap with work left asks for a sweep at once; one that ran dry does not", async () => {
  const capped = await drainOnce(400, { drainMaxMs: 60 });
  assertEquals(capped.queue.length > 0, true, "the cap stopped it before the queue ran dry");
  assertEquals(capped.swept, 1, "one sweep hands the rest over");
  assertEquals((await drainOnce(3, { drainMaxMs: 60_000 })).swept, 0, "nothing left, nothing handed over");
});

Deno.test("when the runtime announces the instance's end the drain claims nothing more, begins nothing a claim under way took, finishes what it began and hands the rest to a sweep", async () => {
  const { queue, begun, finished, claimed, claimLimits, swept } = await drainOnce(40, {
    shutdownAfterClaim: 2,
  });
  assertEquals(claimLimits.length, 2, "no claim after the announcement");
  assertEquals(queue.length > 0, true, "work was left in the queue");
  assertEquals(claimed[1].length > 0, true, "the claim under way when the end was announced took bookings");
  assertEquals(
    claimed[1].filter((id) => begun.includes(id)),
    [],
    "none of which is begun on the instance at its end: they come due again when the claim lapses",
  );
  assertEquals(
    finished.toSorted(),
    begun.toSorted(),
    "every booking begun was finished before the drain let go",
  );
  assertEquals(swept, 2, "a sweep hands the rest over, and another once the bookings begun are done");
});

Deno.test("told of the instance's end, the drain hands the rest over before waiting for the bookings in progress", async () => {
  const { inFlightAtSweep } = await drainOnce(40, { shutdownAfterClaim: 2 });
  assertEquals(inFlightAtSweep.length, 2);
  assertEquals(
    inFlightAtSweep[0] > 0,
    true,
    `bookings were in progress at the first sweep (${inFlightAtSweep})`,
  );
  assertEquals(inFlightAtSweep[1], 0, "none at the second");
});

Deno.test("every attempt runs with the deployment's search and solver budgets", () => {
  const config = loadCoordinatorConfig({
    ASSIGNMENT_PIPELINE_SECRET: SECRET,
    ASSIGNMENT_SEARCH_BUDGET_MS: "400",
    ASSIGNMENT_EXACT_BUDGET_MS: "900",
  }, () => {});
  const options = coordinatorOptions(config, silentLogger);
  assertEquals([options.searchBudgetMs, options.exactTimeLimitMs], [400, 900]);
});

Deno.test("the request's own attempt is handed to the runtime before it is awaited, so a dispatcher that hangs up cannot end it", async () => {
  const booking = crypto.randomUUID();
  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  let begun = false;
  const store: AssignmentStore = {
    ...untouchedStore().store,
    begin: async () => {
      begun = true;
      await held;
      return { outcome: "noop", reason: "terminal_state" } as Awaited<ReturnType<AssignmentStore["begin"]>>;
    },
    claimDue: () => Promise.resolve([]),
    sweepNow: () => Promise.resolve(),
    reviewsToReseat: () => Promise.resolve([]),
  };
  const { background, restore } = fakeRuntime();
  try {
    const handler = createCoordinatorHandler({
      store,
      config: loadCoordinatorConfig({ ASSIGNMENT_PIPELINE_SECRET: SECRET }, () => {}),
      logger: silentLogger,
    });
    const answer = handler(
      dispatchRequest(JSON.stringify({ booking_id: booking })),
    );
    while (!begun) await new Promise((resolve) => setTimeout(resolve, 1));
    assertEquals(background.length, 1, "the attempt in progress is kept alive by the runtime");
    release();
    assertEquals((await answer).status, 200);
    await Promise.all(background);
  } finally {
    restore();
  }
});

Deno.test("an attempt longer than pg_net waits is answered 202 before it gives up, and goes on to its end and the drain after it", async () => {
  const booking = crypto.randomUUID();
  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  let finished = false;
  let claims = 0;
  const store: AssignmentStore = {
    ...untouchedStore().store,
    begin: async () => {
      await held;
      finished = true;
      return { outcome: "noop", reason: "terminal_state" } as Awaited<ReturnType<AssignmentStore["begin"]>>;
    },
    claimDue: () => Promise.resolve(void claims++).then(() => []),
    sweepNow: () => Promise.resolve(),
    reviewsToReseat: () => Promise.resolve([]),
  };
  const { background, restore } = fakeRuntime();
  try {
    const handler = createCoordinatorHandler({
      store,
      config: loadCoordinatorConfig({ ASSIGNMENT_PIPELINE_SECRET: SECRET }, () => {}),
      logger: silentLogger,
      answerWithinMs: 20,
      drainMaxMs: 50,
    });
    const response = await handler(
      dispatchRequest(JSON.stringify({ booking_id: booking })),
    );
    assertEquals([response.status, await response.json(), finished, claims], [
      202,
      { booking_id: booking, still_processing: true },
      false,
      0,
    ]);
    release();
    await Promise.all(background);
    assertEquals([finished, claims > 0], [true, true], "the attempt ended and the drain ran after it");
  } finally {
    restore();
  }
});

Deno.test("an attempt that fails after the answer is logged, once; one that fails before it is answered 500 and logged once", async () => {
  for (const answerWithinMs of [20, 4_000]) {
    const errors: string[] = [];
    const store: AssignmentStore = {
      ...untouchedStore().store,
      // Past the answer with the short deadline, well before it with the long one.
      begin: () => new Promise((_, reject) => setTimeout(() => reject(new Error("the runtime broke")), 60)),
      claimDue: () => Promise.resolve([]),
    };
    const { background, restore } = fakeRuntime();
    try {
      const handler = createCoordinatorHandler({
        store,
        config: loadCoordinatorConfig({ ASSIGNMENT_PIPELINE_SECRET: SECRET }, () => {}),
        logger: { ...silentLogger, error: (_source, message) => void errors.push(message) },
        answerWithinMs,
      });
      const response = await handler(
        dispatchRequest(JSON.stringify({ booking_id: crypto.randomUUID() })),
      );
      await response.body?.cancel();
      await Promise.all(background);
      assertEquals(
        [response.status, errors.filter((e) => e.includes("the runtime broke")).length],
        [answerWithinMs === 20 ? 202 : 500, 1],
      );
    } finally {
      restore();
    }
  }
});

/** Supabase's EdgeRuntime, keeping what the handler hands to waitUntil; restore() takes it away again. */
function fakeRuntime() {
  const background: Promise<unknown>[] = [];
  const runtime = globalThis as { EdgeRuntime?: { waitUntil(p: Promise<unknown>): void } };
  runtime.EdgeRuntime = { waitUntil: (p) => background.push(p) };
  return { background, restore: () => delete runtime.EdgeRuntime };
}
