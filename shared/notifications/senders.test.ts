// The webhook sender's failures are logged and stored in the outbox: they must not quote its address, and
// they say whether asking again can help.
import { assert, assertEquals } from "../testing/assert.ts";
import {
  hasAddress,
  PermanentSendError,
  retryAfterMs,
  RetryLaterError,
  UncertainSendError,
  webhookSender,
} from "./senders.ts";
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
  for (
    const status of [200, 202, 400, 401, 403, 404, 408, 413, 422, 429, 500, 502, 503, 504, 520, 522, 524]
  ) {
    await webhookAnswering(status, async (url, bodies) => {
      const error = await webhookSender(url).send(notification).then(() => null, (e: Error) => e);
      assertEquals(bodies.length, 1, `posted once (${status})`);
      verdicts[status] = error === null
        ? "sent"
        : error instanceof PermanentSendError
        ? "permanent"
        : error instanceof UncertainSendError
        ? "perhaps arrived"
        : error instanceof RetryLaterError
        ? "asked to wait"
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
    429: "asked to wait",
    500: "perhaps arrived",
    502: "perhaps arrived",
    503: "retried",
    504: "perhaps arrived",
    520: "perhaps arrived",
    522: "retried",
    524: "perhaps arrived",
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

Deno.test("a connection lost once the request is out is a send that may have arrived; a refused one did not", async () => {
  // Reads the request, then hangs up without answering.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const served = (async () => {
    const connection = await listener.accept();
    await connection.read(new Uint8Array(65536));
    connection.close();
  })();
  const error = await webhookSender(`http://127.0.0.1:${port}/send`).send(notification)
    .then(() => null, (e: Error) => e);
  await served;
  listener.close();
  assert(error instanceof UncertainSendError, `perhaps arrived: ${error}`);
  assert(error.message.startsWith("webhook request failed: "), error.message);

  const refused = await webhookSender(`http://127.0.0.1:${port}/send`).send(notification)
    .then(() => null, (e: Error) => e);
  assert(refused !== null && !(refused instanceof UncertainSendError), `not sent: ${refused}`);
});

Deno.test("a redirect is not followed: the send fails, saying the address should change", async () => {
  for (const status of [301, 302, 303, 307, 308]) {
    const requests: string[] = [];
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
      requests.push(`${request.method} ${new URL(request.url).pathname}`);
      await request.body?.cancel();
      return new URL(request.url).pathname === "/old"
        ? new Response(null, { status, headers: { location: "/elsewhere" } })
        : new Response("a landing page");
    });
    try {
      const error = await webhookSender(`http://127.0.0.1:${server.addr.port}/old`).send(notification)
        .then(() => null, (e: Error) => e);
      assert(error !== null && !(error instanceof PermanentSendError), `retried (${status}): ${error}`);
      assert(error.message.includes(`answered ${status}, a redirect`), error.message);
      assertEquals(requests, ["POST /old"], `nothing else was requested (${status})`);
    } finally {
      await server.shutdown();
    }
  }
});

Deno.test("the idempotency key is the dedupe key and the recipient: a corrected address is a new request", async () => {
  const keys: string[] = [];
  const bodies: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    keys.push(request.headers.get("idempotency-key") ?? "");
    bodies.push(await request.text());
    return new Response(null, { status: 202 });
  });
  try {
    const send = (email: string, name = "Ada") =>
      webhookSender(`http://127.0.0.1:${server.addr.port}/send`).send(
        { ...notification, recipient_email: email, recipient_name: name } as ClaimedNotification,
      );
    await send("ada@example.com");
    await send(" ada@example.com\t");
    await send("ada@example.org");
    await send("ada@example.com", "Ada L.");
    await send("Ada@Example.com");
    await webhookSender(`http://127.0.0.1:${server.addr.port}/send`).send(
      { ...notification, dedupe_key: "c:1" } as ClaimedNotification,
    );
  } finally {
    await server.shutdown();
  }
  assert(/^b:1:[0-9a-f]{16}$/.test(keys[0]), keys[0]);
  assertEquals(keys[1], keys[0], "the same recipient, with whitespace around it, keeps its key");
  assertEquals(
    bodies[1],
    bodies[0],
    "and the body posted under it: a provider refuses one key with two bodies",
  );
  assertEquals(JSON.parse(bodies[1]).to.email, "ada@example.com", "the address as the key has it");
  assertEquals(new Set(keys.slice(0, 5)).size, 4, "another address, name or spelling is another key");
  assertEquals(JSON.parse(bodies[4]).to.email, "Ada@Example.com", "an address keeps its case");
  assert(
    keys[5].startsWith("c:1:") && keys[5].slice(4) !== keys[0].slice(4),
    "another booking, another digest",
  );
  assert(!keys.some((k) => k.includes("ada")), "the key does not spell the address out");
});

Deno.test("a 429 or 503 with Retry-After says how long to wait; a 429 without one waits 30 s, a 503 is an ordinary retry", async () => {
  const waits: Record<string, number | string> = {};
  for (
    const [status, header] of [[429, "120"], [503, "7"], [429, null], [429, "soon"], [503, null], [
      503,
      "soon",
    ]] as const
  ) {
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
      await request.body?.cancel();
      return new Response(null, { status, headers: header === null ? {} : { "retry-after": header } });
    });
    try {
      const error = await webhookSender(`http://127.0.0.1:${server.addr.port}/send`).send(notification)
        .then(() => null, (e: Error) => e);
      waits[`${status} ${header}`] = error instanceof RetryLaterError
        ? error.retryAfterMs
        : String(error?.name);
    } finally {
      await server.shutdown();
    }
  }
  assertEquals(waits, {
    "429 120": 120_000,
    "503 7": 7_000,
    "429 null": 30_000,
    "429 soon": 30_000,
    "503 null": "Error",
    "503 soon": "Error",
  });
});

Deno.test("Retry-After reads delay-seconds and HTTP dates, at most a day, never negative", () => {
  const now = Date.parse("2030-01-07T12:00:00Z");
  assertEquals(retryAfterMs("30", now), 30_000);
  assertEquals(retryAfterMs("Mon, 07 Jan 2030 12:01:30 GMT", now), 90_000);
  assertEquals(retryAfterMs("Mon, 07 Jan 2030 11:00:00 GMT", now), 0);
  assertEquals(retryAfterMs("999999999", now), 86_400_000);
  assertEquals(retryAfterMs("9".repeat(400), now), 86_400_000, "digits past any number are the longest wait");
  assertEquals(retryAfterMs("Retry in 5", now), undefined, "not read as a date in 2001");
  assertEquals([retryAfterMs(null, now), retryAfterMs("", now), retryAfterMs("1.5", now)], [
    undefined,
    undefined,
    undefined,
  ]);
});
