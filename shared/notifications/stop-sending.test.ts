// An instance about to end (stopSending, from its beforeunload) hands back the messages it claimed and has not
// posted, due again at once for another instance, instead of leaving them to their lease, after which they would
// count as perhaps received; and it starts no further send or claim. In a file of its own: stopping is for the
// rest of the module's life, as it is for an instance's.
import { assertEquals } from "../testing/assert.ts";
import type { AssignmentStore, CompleteNotificationArgs } from "../store/port.ts";
import type { ClaimedNotification } from "../store/results.ts";
import { silentLogger } from "../telemetry/log.ts";
import { deliverDueNotifications, stopSending } from "./dispatcher.ts";
import type { Sender } from "./senders.ts";

Deno.test("an instance about to end hands back what it claimed and has not posted, and claims nothing more", async () => {
  const completions: CompleteNotificationArgs[] = [];
  let claims = 0;
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
      claims++;
      return Promise.resolve(Array.from({ length: Math.min(limit, 20) }, (_, i): ClaimedNotification => ({
        id: i + 1,
        lease_token: `00000000-0000-4000-8000-${String(i + 1).padStart(12, "0")}`,
        booking_id: `20000000-0000-4000-8000-${String(i + 1).padStart(12, "0")}`,
        kind: "booking_confirmed",
        dedupe_key: `booking-${i + 1}:booking_confirmed`,
        payload: {},
        attempts: 1,
        recipient_email: "ada@example.com",
        recipient_name: "Ada Lovelace",
      })));
    },
    completeNotification: (c) => {
      completions.push(c);
      return Promise.resolve(c.ok ? "sent" : "pending");
    },
    close: () => Promise.resolve(),
  };
  // The first turn's sends are out when the instance is told it ends; they finish after.
  const posted: number[] = [];
  let finish = () => {};
  const sendsOut = new Promise<void>((resolve) => (finish = resolve));
  const sender: Sender = {
    name: "slow",
    send: (n) => (posted.push(n.id), sendsOut),
  };
  const run = deliverDueNotifications(store, sender, silentLogger);
  while (posted.length < 8) await new Promise((resolve) => setTimeout(resolve, 1));
  stopSending();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(
    completions.filter((c) => c.notSent).length,
    12,
    "handed back at once, while the sends out have not ended",
  );
  finish();
  const report = await run;

  assertEquals(posted.length, 8, "no send starts once the instance is ending");
  assertEquals([report.claimed, report.sent, report.handedBack], [20, 8, 12]);
  assertEquals(
    completions.filter((c) => c.notSent).map((c) => c.id).sort((a, b) => a - b),
    Array.from({ length: 12 }, (_, i) => i + 9),
    "the twelve never posted are handed back as such, due again at once",
  );
  assertEquals(completions.filter((c) => c.ok).length, 8, "the eight out are recorded as sent");
  assertEquals(await deliverDueNotifications(store, sender, silentLogger), {
    claimed: 0,
    sent: 0,
    failed: 0,
    leaseLost: 0,
    handedBack: 0,
  });
  assertEquals(claims, 1, "and no claim is made after");
});
