// The dispatcher's requests: the same secret check as the coordinator's, and with an unusable
// NOTIFICATION_SENDER a clear error and nothing claimed, so the outbox keeps every notification.
import { assertEquals } from "../testing/assert.ts";
import type { AssignmentStore } from "../store/port.ts";
import { silentLogger } from "../telemetry/log.ts";
import { signNudge } from "../http/secret.ts";
import { createDispatcherHandler } from "./handler.ts";

const SECRET = "s".repeat(32);

function emptyOutbox() {
  const claims: number[] = [];
  const unexpected = () => Promise.reject(new Error("unexpected"));
  const store: AssignmentStore = {
    begin: unexpected,
    snapshot: unexpected,
    commit: unexpected,
    fail: unexpected,
    claimDue: unexpected,
    sweepNow: unexpected,
    reviewsToReseat: unexpected,
    reseatingProbes: unexpected,
    offerReseating: unexpected,
    claimNotifications: ({ limit }) => {
      claims.push(limit);
      return Promise.resolve([]);
    },
    completeNotification: unexpected,
    close: () => Promise.resolve(),
  };
  return { claims, store };
}

const post = (secret = SECRET, body?: string) =>
  new Request("http://local/functions/v1/notification-dispatcher", {
    method: "POST",
    headers: { authorization: `Bearer ${secret}` },
    body,
  });

Deno.test("the dispatcher refuses a wrong secret and delivers with the right one", async () => {
  const { claims, store } = emptyOutbox();
  const handler = createDispatcherHandler({
    store,
    config: { secret: SECRET, sender: { kind: "log" } },
    logger: silentLogger,
  });
  assertEquals((await handler(post("x".repeat(32)))).status, 401);
  assertEquals(claims, []);
  const response = await handler(post());
  assertEquals(response.status, 200);
  assertEquals(await response.json(), { claimed: 0, sent: 0, failed: 0, leaseLost: 0, handedBack: 0 });
  assertEquals(claims.length, 1);
});

Deno.test("while the secret is rotated, the dispatcher serves nudges Vault still signs with the previous one", async () => {
  const previous = "p".repeat(32);
  const body = '{"trigger": "outbox"}';
  const signed = await signNudge("notification-dispatcher", body, previous);
  const rotating = emptyOutbox();
  const during = createDispatcherHandler({
    store: rotating.store,
    config: { secret: SECRET, previousSecret: previous, sender: { kind: "log" } },
    logger: silentLogger,
  });
  assertEquals((await during(post(signed, body))).status, 200);
  assertEquals(
    (await during(post(previous))).status,
    401,
    "the previous secret itself is no longer the pipeline",
  );
  const after = createDispatcherHandler({
    store: emptyOutbox().store,
    config: { secret: SECRET, sender: { kind: "log" } },
    logger: silentLogger,
  });
  assertEquals((await after(post(signed, body))).status, 401, "once it is unset, its signatures are refused");
});

Deno.test("the dispatcher serves a nudge signed over its body, and refuses one whose body was changed", async () => {
  const { claims, store } = emptyOutbox();
  const handler = createDispatcherHandler({
    store,
    config: { secret: SECRET, sender: { kind: "log" } },
    logger: silentLogger,
  });
  const body = '{"trigger": "outbox"}';
  const signed = await signNudge("notification-dispatcher", body, SECRET);
  assertEquals((await handler(post(signed, '{"trigger": "other"}'))).status, 401);
  assertEquals(claims, []);
  assertEquals((await handler(post(signed, body))).status, 200);
  assertEquals(claims.length, 1);
  // Signed for the coordinator, or sent too late: refused, the late one told apart from a wrong one.
  const forCoordinator = await signNudge("assignment-coordinator", body, SECRET);
  assertEquals((await handler(post(forCoordinator, body))).status, 401);
  const late = await signNudge("notification-dispatcher", body, SECRET, Date.now() - 600_000);
  const refused = await handler(post(late, body));
  assertEquals([refused.status, (await refused.json()).error.code], [408, "stale_signature"]);
  // A late one not made with the secret is a wrong one, not a late one.
  const forged = await signNudge("notification-dispatcher", body, `${SECRET}!`, Date.now() - 600_000);
  assertEquals((await handler(post(forged, body))).status, 401);
  assertEquals(claims.length, 1);
});

Deno.test("with an unusable NOTIFICATION_SENDER the dispatcher claims nothing and says why", async () => {
  const { claims, store } = emptyOutbox();
  const problem = 'NOTIFICATION_SENDER must be sink, webhook or log, not "smtp"';
  const handler = createDispatcherHandler({
    store,
    config: { secret: SECRET, sender: { kind: "unusable", problem } },
    logger: silentLogger,
  });
  const response = await handler(post());
  assertEquals(response.status, 500);
  const body = await response.json();
  assertEquals(body.error.code, "sender_misconfigured");
  assertEquals(body.error.message.startsWith(problem), true, body.error.message);
  assertEquals(claims, []);
});

Deno.test("the dispatcher refuses a body over the ceiling with 413 and claims nothing", async () => {
  const { claims, store } = emptyOutbox();
  const handler = createDispatcherHandler({
    store,
    config: { secret: SECRET, sender: { kind: "log" } },
    logger: silentLogger,
  });
  const response = await handler(
    new Request("http://local/functions/v1/notification-dispatcher", {
      method: "POST",
      headers: { authorization: `Bearer ${SECRET}` },
      body: new Blob(["x".repeat(200 * 1024)]).stream(),
    }),
  );
  assertEquals(response.status, 413);
  assertEquals((await response.json()).error.code, "body_too_large");
  assertEquals(claims, []);
});

Deno.test("a delivery that outlasts the sweeper's wait is answered 202 and goes on", async () => {
  const { claims, store } = emptyOutbox();
  let release = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  let claimEnded = false;
  const slow: AssignmentStore = {
    ...store,
    claimNotifications: async (args) => {
      await released;
      const claimed = await store.claimNotifications(args);
      claimEnded = true;
      return claimed;
    },
  };
  const handler = createDispatcherHandler({
    store: slow,
    config: { secret: SECRET, sender: { kind: "log" } },
    logger: silentLogger,
    answerWithinMs: 20,
  });
  const response = await handler(post());
  assertEquals([response.status, await response.json()], [202, { still_sending: true }]);
  assertEquals(claimEnded, false, "answered while the claim is still out");
  release();
  await new Promise((resolve) => setTimeout(resolve, 20));
  assertEquals([claimEnded, claims.length], [true, 1], "and the delivery went on after the answer");
});

Deno.test("a delivery's failure is logged once, whether it comes before the answer or after", async () => {
  const errors: string[] = [];
  const logger = { ...silentLogger, error: (_: string, message: string) => void errors.push(message) };
  const failing = (afterMs: number): AssignmentStore => ({
    ...emptyOutbox().store,
    claimNotifications: () =>
      new Promise((_, reject) => setTimeout(() => reject(new Error("database down")), afterMs)),
  });
  const early = createDispatcherHandler({
    store: failing(0),
    config: { secret: SECRET, sender: { kind: "log" } },
    logger,
    answerWithinMs: 50,
  });
  assertEquals((await early(post())).status, 500);
  await new Promise((resolve) => setTimeout(resolve, 10));
  assertEquals(errors.length, 1, errors.join("; "));
  const late = createDispatcherHandler({
    store: failing(30),
    config: { secret: SECRET, sender: { kind: "log" } },
    logger,
    answerWithinMs: 5,
  });
  assertEquals((await late(post())).status, 202);
  await new Promise((resolve) => setTimeout(resolve, 60));
  assertEquals(errors.length, 2, errors.join("; "));
});
