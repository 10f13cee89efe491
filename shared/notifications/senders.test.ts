// The webhook sender's failures are logged and stored in the outbox: they must not quote its address.
import { assert, assertEquals } from "../testing/assert.ts";
import { webhookSender } from "./senders.ts";
import type { ClaimedNotification } from "../store/results.ts";

const notification = {
  id: 1,
  lease_token: crypto.randomUUID(),
  booking_id: crypto.randomUUID(),
  kind: "booking_confirmed",
  dedupe_key: "b:1",
  payload: {},
  attempts: 0,
  recipient_email: null,
  recipient_name: null,
} as unknown as ClaimedNotification;

Deno.test("a webhook that cannot be reached fails saying why, without quoting its address, key and all", async () => {
  // A closed port on loopback: the request fails at once, and fetch's error names the url.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const url = `http://127.0.0.1:${port}/hooks/mail?key=s3cr3t-k3y`;
  const error = await webhookSender(url).send(notification).then(() => null, (e: Error) => e);
  assert(error !== null, "the send fails");
  assert(error.message.startsWith("webhook request failed: "), error.message);
  assert(error.message.includes("Connection refused"), `says why: ${error.message}`);
  assertEquals(
    [error.message.includes("s3cr3t"), error.message.includes(String(port))],
    [false, false],
    error.message,
  );
});
