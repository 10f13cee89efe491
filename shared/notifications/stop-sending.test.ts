// An instance about to end (stopSending, from its beforeunload) hands back the messages it claimed and has not
// posted, due again at once for another instance, instead of leaving them to their lease, after which they would
// count as perhaps received; and it starts no further send or claim. In a file of its own: stopping is for the
// rest of the module's life, as it is for an instance's.
import { assertEquals } from "../testing/assert.ts";
import { fakeOutbox } from "../testing/fake-outbox.ts";
import { silentLogger } from "../telemetry/log.ts";
import { deliverDueNotifications, stopSending } from "./dispatcher.ts";
import type { Sender } from "./senders.ts";

Deno.test("an instance about to end hands back what it claimed and has not posted, and claims nothing more", async () => {
  const outbox = fakeOutbox(20);
  let claims = 0;
  const claim = outbox.store.claimNotifications;
  outbox.store.claimNotifications = (args) => (claims++, claim(args));
  // The first turn's sends are out when the instance is told it ends; they finish after.
  const posted: number[] = [];
  let finish = () => {};
  const sendsOut = new Promise<void>((resolve) => (finish = resolve));
  const sender: Sender = { name: "slow", send: (n) => (posted.push(n.id), sendsOut) };
  const run = deliverDueNotifications(outbox.store, sender, silentLogger);
  while (posted.length < 8) await new Promise((resolve) => setTimeout(resolve, 1));
  stopSending();
  await new Promise((resolve) => setTimeout(resolve, 0));
  const handedBack = () => outbox.completions.filter((c) => c.notSent).map((c) => c.id).sort((a, b) => a - b);
  assertEquals(handedBack().length, 12, "handed back at once, while the sends out have not ended");
  finish();
  const report = await run;

  assertEquals(posted.length, 8, "no send starts once the instance is ending");
  assertEquals([report.claimed, report.sent, report.handedBack], [20, 8, 12]);
  assertEquals(
    handedBack(),
    Array.from({ length: 12 }, (_, i) => i + 9),
    "the twelve never posted, due again",
  );
  assertEquals(outbox.completions.filter((c) => c.ok).length, 8, "the eight out are recorded as sent");
  assertEquals(await deliverDueNotifications(outbox.store, sender, silentLogger), {
    claimed: 0,
    sent: 0,
    failed: 0,
    leaseLost: 0,
    handedBack: 0,
  });
  assertEquals(claims, 1, "and no claim is made after");
});
