// The webhook sender's failures are logged and stored in the outbox: they must not quote its address, and
// they say whether asking again can help.
import { assert, assertEquals } from "../testing/assert.ts";
import { hasAddress, PermanentSendError, webhookSender } from "./senders.ts";
import type { ClaimedNotification } from "../store/results.ts";

const notification = {
  id: 1,
  lease_token: crypto.randomUUID(),
  booking_id: crypto.randomUUID(),
  kind: "booking_confirmed",
  dedupe_key: "b:1",
  payload: {},
  attempts: 0,
  recipient_email: "ada@example.com",
  recipient_name: "Ada",
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

/** A webhook on loopback answering `status` to every POST; records the bodies it was sent. */
async function webhookAnswering(status: number, run: (url: string, bodies: unknown[]) => Promise<void>) {
  const bodies: unknown[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    bodies.push(await request.json());
    return new Response(null, { status });
  });
  try {
    await run(`http://127.0.0.1:${server.addr.port}/send`, bodies);
  } finally {
    await server.shutdown();
  }
}

Deno.test("a refusal of the message itself is permanent; a problem of the setup or the moment is retried", async () => {
  const verdicts: Record<number, string> = {};
  for (const status of [200, 202, 400, 401, 403, 404, 408, 413, 422, 429, 500, 503]) {
    await webhookAnswering(status, async (url, bodies) => {
      const error = await webhookSender(url).send(notification).then(() => null, (e: Error) => e);
      assertEquals(bodies.length, 1, `posted once (${status})`);
      verdicts[status] = error === null
        ? "sent"
        : error instanceof PermanentSendError
        ? "permanent"
        : "retried";
    });
  }
  assertEquals(verdicts, {
    200: "sent",
    202: "sent",
    400: "permanent",
    401: "retried",
    403: "retried",
    404: "retried",
    408: "retried",
    413: "permanent",
    422: "permanent",
    429: "retried",
    500: "retried",
    503: "retried",
  });
});

Deno.test("a guest without an e-mail address is not posted: the send fails for good, saying so", async () => {
  await webhookAnswering(200, async (url, bodies) => {
    for (const recipient_email of [null, "", " \t\n\r\f\v"]) {
      const error = await webhookSender(url).send({ ...notification, recipient_email } as ClaimedNotification)
        .then(() => null, (e: Error) => e);
      assert(error instanceof PermanentSendError, `permanent for ${JSON.stringify(recipient_email)}`);
      assert(error.message.includes("no e-mail address"), error.message);
    }
    const sent = await webhookSender(url).send(notification).then(() => true);
    assertEquals([bodies.length, sent], [1, true], "only the notification message was posted");
    assertEquals((bodies[0] as { to: unknown }).to, { email: "ada@example.com", name: "Ada" });
  });
});

Deno.test("blank is exactly what the database's private.has_address calls blank", () => {
  // pgTAP 55 holds the database to the same six characters.
  const blank = Array.from({ length: 128 }, (_, c) => c).filter((c) => !hasAddress(String.fromCharCode(c)));
  assertEquals(blank, [9, 10, 11, 12, 13, 32]);
  assertEquals([hasAddress(null), hasAddress(undefined), hasAddress(""), hasAddress(" a ")], [
    false,
    false,
    false,
    true,
  ]);
});
