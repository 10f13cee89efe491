// deliverDueNotifications against a fake outbox: a failed send is reported with the claim's lease token
// and sent again (same idempotency key) on a later run; one failure does not stop the others; a result
// Postgres refuses because the row was claimed again (lease_lost) is counted, not treated as sent.
import { assertEquals } from "../testing/assert.ts";
import type { AssignmentStore } from "../store/port.ts";
import { fakeOutbox } from "../testing/fake-outbox.ts";
import { silentLogger } from "../telemetry/log.ts";
import { deliverAllDue, deliverDueNotifications, deliverWhileFull } from "./dispatcher.ts";
import { PermanentSendError, RetryLaterError, type Sender, UncertainSendError } from "./senders.ts";

function flakySender(failFor: (key: string, call: number) => boolean) {
  const keys: string[] = [];
  const sender: Sender = {
    name: "flaky",
    send(n) {
      keys.push(n.dedupe_key);
      return failFor(n.dedupe_key, keys.length)
        ? Promise.reject(new Error("mailer answered 503"))
        : Promise.resolve();
    },
  };
  return { sender, keys };
}

Deno.test("a failed send is recorded under its lease and sent again, with the same key, on the next run", async () => {
  const outbox = fakeOutbox(1);
  const { sender, keys } = flakySender((_key, call) => call === 1);

  const first = await deliverDueNotifications(outbox.store, sender, silentLogger);
  assertEquals(first, { claimed: 1, sent: 0, failed: 1, leaseLost: 0, handedBack: 0 });
  assertEquals(outbox.completions[0], {
    id: 1,
    leaseToken: "00000000-0000-4000-8000-000000000001",
    ok: false,
    error: "mailer answered 503",
    permanent: false,
    mayHaveArrived: false,
  });
  assertEquals(outbox.rows[0].status, "pending", "the row waits for its retry");

  const second = await deliverDueNotifications(outbox.store, sender, silentLogger);
  assertEquals(second, { claimed: 1, sent: 1, failed: 0, leaseLost: 0, handedBack: 0 });
  assertEquals(outbox.completions[1], {
    id: 1,
    leaseToken: "00000000-0000-4000-8000-000000000002",
    ok: true,
  });
  assertEquals(keys, ["booking-1:booking_confirmed", "booking-1:booking_confirmed"], "same idempotency key");
  assertEquals(outbox.rows[0].status, "sent");

  const third = await deliverDueNotifications(outbox.store, sender, silentLogger);
  assertEquals(third.claimed, 0, "nothing is sent twice once recorded");
});

Deno.test("a failure the sender calls permanent is recorded as such, and the message is not sent again", async () => {
  const outbox = fakeOutbox(2, (c) => c.ok ? "sent" : c.permanent ? "dead" : "pending");
  const refusing: Sender = {
    name: "refusing",
    send: (n) =>
      n.id === 1
        ? Promise.reject(new PermanentSendError("webhook refused the message (422)"))
        : Promise.resolve(),
  };
  const report = await deliverDueNotifications(outbox.store, refusing, silentLogger);
  assertEquals(report, { claimed: 2, sent: 1, failed: 1, leaseLost: 0, handedBack: 0 });
  assertEquals(outbox.completions.find((c) => c.id === 1), {
    id: 1,
    leaseToken: "00000000-0000-4000-8000-000000000001",
    ok: false,
    error: "webhook refused the message (422)",
    permanent: true,
    mayHaveArrived: false,
  });
  assertEquals(outbox.rows.map((r) => r.status), ["dead", "sent"]);
  assertEquals((await deliverDueNotifications(outbox.store, refusing, silentLogger)).claimed, 0);
});

Deno.test("one failing notification does not hold up the others", async () => {
  const outbox = fakeOutbox(3);
  const { sender } = flakySender((key) => key.startsWith("booking-2:"));
  const report = await deliverDueNotifications(outbox.store, sender, silentLogger);
  assertEquals(report, { claimed: 3, sent: 2, failed: 1, leaseLost: 0, handedBack: 0 });
  assertEquals(outbox.rows.map((r) => r.status), ["sent", "pending", "sent"]);
});

Deno.test("a result refused because the row was claimed again is counted as lease lost, not as sent", async () => {
  const outbox = fakeOutbox(2, (c) => c.id === 1 ? "lease_lost" : "sent");
  const { sender } = flakySender(() => false);
  const report = await deliverDueNotifications(outbox.store, sender, silentLogger);
  assertEquals(report, { claimed: 2, sent: 1, failed: 0, leaseLost: 1, handedBack: 0 });
});

Deno.test("a delivered message whose result the database does not take at once is recorded as sent, never as failed", async () => {
  let calls = 0;
  const outbox = fakeOutbox(1, (c) => {
    if (++calls === 1) throw new Error("connection reset");
    return c.ok ? "sent" : "pending";
  });
  const { sender, keys } = flakySender(() => false);
  const report = await deliverDueNotifications(outbox.store, sender, silentLogger);
  assertEquals(report, { claimed: 1, sent: 1, failed: 0, leaseLost: 0, handedBack: 0 });
  assertEquals(outbox.completions.map((c) => c.ok), [true, true], "tried again as a success");
  assertEquals(keys.length, 1, "and not sent again");
});

Deno.test("a result the database never takes leaves the row to its lease, and the run still ends", async () => {
  const outbox = fakeOutbox(2, (c) => {
    if (c.id === 1) throw new Error("database unreachable");
    return c.ok ? "sent" : "pending";
  });
  const { sender } = flakySender(() => false);
  const report = await deliverDueNotifications(outbox.store, sender, silentLogger);
  assertEquals(report, { claimed: 2, sent: 1, failed: 0, leaseLost: 0, handedBack: 0 });
  assertEquals(outbox.completions.filter((c) => c.id === 1).map((c) => c.ok), [true, true, true]);
  assertEquals(outbox.rows.map((r) => r.status), ["sending", "sent"]);
});

Deno.test("delivering everything due claims again while claims come back full, and stops on a short one", async () => {
  const outbox = fakeOutbox(120);
  const claims: number[] = [];
  const claim = outbox.store.claimNotifications;
  outbox.store.claimNotifications = (args) => claim(args).then((rows) => (claims.push(rows.length), rows));
  const { sender, keys } = flakySender(() => false);
  await deliverAllDue(outbox.store, sender, silentLogger);
  assertEquals(claims, [50, 50, 20]);
  assertEquals([keys.length, outbox.rows.every((r) => r.status === "sent")], [120, true]);
});

Deno.test("a background delivery run starts no claim after 10 s, so the next batch's run is not held up", async () => {
  const outbox = fakeOutbox(300);
  let clock = 0;
  const claims: number[] = [];
  const claim = outbox.store.claimNotifications;
  outbox.store.claimNotifications = (args) => claim(args).then((rows) => (claims.push(rows.length), rows));
  // Each claim's sends take 6 s of the clock the budget is measured by.
  const { sender } = flakySender(() => (clock += 6_000 / 50, false));
  await deliverAllDue(outbox.store, sender, silentLogger, { now: () => clock });
  assertEquals(claims, [50, 50], "claims of 50; the third would start at 12 s");
});

Deno.test("delivering everything due stops when a full claim sends nothing, and reports a failing claim", async () => {
  const outbox = fakeOutbox(60);
  let claims = 0;
  const claim = outbox.store.claimNotifications;
  outbox.store.claimNotifications = (args) => (claims++, claim(args));
  const { sender } = flakySender(() => true);
  await deliverAllDue(outbox.store, sender, silentLogger);
  assertEquals(claims, 1, "a full claim that sent nothing ends the run: failed sends wait for their backoff");

  const errors: string[] = [];
  outbox.store.claimNotifications = () => Promise.reject(new Error("connection reset"));
  const logger = { ...silentLogger, error: (_s: string, message: string) => void errors.push(message) };
  await deliverAllDue(outbox.store, sender, logger);
  assertEquals(errors, ["delivery failed: Error: connection reset"]);
});

Deno.test("a dispatcher request drains a backlog several claims at a time, up to its cap, and reports them all", async () => {
  const outbox = fakeOutbox(300);
  const claims: number[] = [];
  const claim = outbox.store.claimNotifications;
  outbox.store.claimNotifications = (args) => claim(args).then((rows) => (claims.push(rows.length), rows));
  const { sender } = flakySender(() => false);
  const report = await deliverWhileFull(outbox.store, sender, silentLogger, { limit: 50, maxRounds: 4 });
  assertEquals(claims, [50, 50, 50, 50], "four full claims, then the cap");
  assertEquals(report, { claimed: 200, sent: 200, failed: 0, leaseLost: 0, handedBack: 0 });
  assertEquals(
    outbox.rows.filter((r) => r.status === "pending").length,
    100,
    "the rest wait for the next request",
  );
});

Deno.test("a dispatcher request starts no claim once its time budget is spent", async () => {
  const outbox = fakeOutbox(300);
  let clock = 0;
  const claims: number[] = [];
  const claim = outbox.store.claimNotifications;
  outbox.store.claimNotifications = (args) => claim(args).then((rows) => (claims.push(rows.length), rows));
  // Each claim's sends take 700 ms of the clock the budget is measured by.
  const { sender } = flakySender(() => (clock += 700 / 50, false));
  const report = await deliverWhileFull(outbox.store, sender, silentLogger, {
    limit: 50,
    maxRounds: 10,
    budgetMs: 1_000,
    now: () => clock,
  });
  assertEquals(claims, [50, 50], "the second claim starts at 700 ms; at 1400 ms the budget is spent");
  assertEquals(report.sent, 100);
});

Deno.test("a claim that fails after others were sent ends the run with their report; a first one that fails throws", async () => {
  const outbox = fakeOutbox(120);
  let claims = 0;
  const claim = outbox.store.claimNotifications;
  outbox.store.claimNotifications = (args) =>
    ++claims === 2 ? Promise.reject(new Error("connection reset")) : claim(args);
  const errors: string[] = [];
  const logger = { ...silentLogger, error: (_s: string, message: string) => void errors.push(message) };
  const { sender } = flakySender(() => false);
  const report = await deliverWhileFull(outbox.store, sender, logger, { limit: 50, maxRounds: 4 });
  assertEquals(report, { claimed: 50, sent: 50, failed: 0, leaseLost: 0, handedBack: 0 });
  assertEquals(errors, ["delivery stopped at claim 2: Error: connection reset"]);
  outbox.store.claimNotifications = () => Promise.reject(new Error("connection reset"));
  const thrown = await deliverWhileFull(outbox.store, sender, logger, { limit: 50, maxRounds: 4 }).then(
    () => null,
    (e: Error) => e.message,
  );
  assertEquals(thrown, "connection reset");
});

Deno.test("a send without an answer is recorded as perhaps received", async () => {
  const outbox = fakeOutbox(2);
  const silent: Sender = {
    name: "silent",
    send: (n) =>
      n.id === 1 ? Promise.reject(new UncertainSendError("webhook answered 504")) : Promise.reject(
        new Error("webhook answered 503"),
      ),
  };
  await deliverDueNotifications(outbox.store, silent, silentLogger);
  assertEquals(
    outbox.completions.map((c) => [c.id, c.permanent, c.mayHaveArrived]),
    [[1, false, true], [2, false, false]],
  );
});

Deno.test("at most eight sends are out at once, and every claimed message is sent", async () => {
  const outbox = fakeOutbox(50);
  let out = 0;
  let peak = 0;
  const slow: Sender = {
    name: "slow",
    async send() {
      peak = Math.max(peak, ++out);
      await new Promise((resolve) => setTimeout(resolve, 2));
      out--;
    },
  };
  const report = await deliverDueNotifications(outbox.store, slow, silentLogger);
  assertEquals([report.claimed, report.sent, peak], [50, 50, 8]);
});

Deno.test("no send starts later than 30 s after the claim: the rest are handed back, due at once", async () => {
  const outbox = fakeOutbox(50);
  let clock = 0;
  const slow: Sender = {
    name: "slow",
    send() {
      clock += 31_000; // each send takes past the window
      return Promise.resolve();
    },
  };
  const report = await deliverDueNotifications(outbox.store, slow, silentLogger, 50, () => clock);
  assertEquals([report.claimed, report.sent, report.failed], [50, 1, 0]);
  const handedBack = outbox.completions.filter((c) => c.notSent);
  assertEquals(handedBack.length, 49, "the others are handed back as never posted");
  assertEquals(handedBack.every((c) => !c.ok && !c.mayHaveArrived && c.retryAfterMs === undefined), true);
  assertEquals(outbox.rows.filter((r) => r.status === "pending").length, 49, "and are due again");
});

Deno.test("those never posted are handed back at once, not behind a result slow to record", async () => {
  // The first message's result waits on a database call that does not answer (its timeout is 30 s, three
  // tries); by then the others' lease could have run out and another run have claimed them as perhaps received.
  const outbox = fakeOutbox(20);
  let release = () => {};
  const hung = new Promise<string>((resolve) => (release = () => resolve("sent")));
  const recordNow = outbox.store.completeNotification;
  const store: AssignmentStore = {
    ...outbox.store,
    completeNotification: (c) => (c.ok ? (outbox.completions.push(c), hung) : recordNow(c)),
  };
  let clock = 0;
  const slow: Sender = {
    name: "slow",
    send() {
      clock += 31_000; // the first send takes the whole window
      return Promise.resolve();
    },
  };
  const delivery = deliverDueNotifications(store, slow, silentLogger, 50, () => clock);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(
    outbox.completions.filter((c) => c.notSent).length,
    19,
    "handed back while the first is still out",
  );
  release();
  const report = await delivery;
  assertEquals([report.claimed, report.sent, report.failed], [20, 1, 0]);
});

Deno.test("the wait a provider asked for goes with the failure", async () => {
  const outbox = fakeOutbox(1);
  const limited: Sender = {
    name: "limited",
    send: () =>
      Promise.reject(new RetryLaterError("webhook answered 429, asking to wait 120000 ms", 120_000)),
  };
  await deliverDueNotifications(outbox.store, limited, silentLogger);
  assertEquals(outbox.completions.map((c) => [c.ok, c.mayHaveArrived, c.retryAfterMs]), [[
    false,
    false,
    120_000,
  ]]);
});

Deno.test("once the provider asks to wait, the claim's other messages are not posted but wait as long", async () => {
  const outbox = fakeOutbox(20);
  const posted: number[] = [];
  const limited: Sender = {
    name: "limited",
    send: (n) => {
      posted.push(n.id);
      return Promise.reject(new RetryLaterError("webhook answered 429, asking to wait 60000 ms", 60_000));
    },
  };
  const report = await deliverDueNotifications(outbox.store, limited, silentLogger);
  assertEquals(posted.length, 8, "only the first turn's sends went out");
  assertEquals([report.claimed, report.failed, report.sent], [20, 8, 0]);
  assertEquals(outbox.completions.map((c) => c.retryAfterMs), Array(20).fill(60_000), "every one waits");
  assertEquals(
    outbox.completions.filter((c) => c.notSent).map((c) => c.id).sort((a, b) => a - b),
    outbox.rows.map((r) => r.id).filter((id) => !posted.includes(id)),
    "those never posted are handed back as such, so no try of theirs is counted",
  );
  assertEquals(outbox.rows.every((r) => r.status === "pending"), true);
});

Deno.test("once the provider asks to wait, delivering everything due makes no further claim", async () => {
  const outbox = fakeOutbox(120);
  const claims: number[] = [];
  const claim = outbox.store.claimNotifications;
  outbox.store.claimNotifications = (args) => claim(args).then((rows) => (claims.push(rows.length), rows));
  let calls = 0;
  // Seven of the first turn's sends go through, the eighth is told to wait: the claim sent something.
  const limited: Sender = {
    name: "limited",
    send: () =>
      ++calls === 8
        ? Promise.reject(new RetryLaterError("webhook answered 429, asking to wait 60000 ms", 60_000))
        : Promise.resolve(),
  };
  const report = await deliverWhileFull(outbox.store, limited, silentLogger, { limit: 50 });
  assertEquals(claims, [50], "no second claim meets the limit the provider asked for");
  assertEquals([report.sent, report.failed, report.handedBack], [7, 1, 42]);
});
