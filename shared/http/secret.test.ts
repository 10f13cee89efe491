// The pipeline's callers: pg_net's nudges signed with the secret over their exact body and time, direct callers
// with the secret itself; anything else, a stale or tampered nudge included, is not the pipeline.
import fc from "fast-check";
import { assertEquals } from "../testing/assert.ts";
import { callerOf, isPipeline, SIGNATURE_WINDOW_SECONDS, signNudge } from "./secret.ts";

const SECRET = "a-pipeline-secret-of-some-length";
const NOW = Date.parse("2030-06-03T19:00:00Z");

const request = (authorization?: string) =>
  new Request("http://local/", { method: "POST", headers: authorization ? { authorization } : {} });

/** Whether a request with this header and body is the pipeline's, as the functions decide. */
async function accepted(authorization: string | undefined, body: string, secret = SECRET, nowMs = NOW) {
  const caller = callerOf(request(authorization), secret, nowMs);
  return caller !== null && await isPipeline(caller, body, secret);
}

Deno.test("the secret itself is the pipeline; another, none or an empty configured one is not", async () => {
  assertEquals(await accepted(`Bearer ${SECRET}`, "{}"), true);
  assertEquals(await accepted(`Bearer ${SECRET}x`, "{}"), false);
  assertEquals(await accepted(`bearer ${SECRET}`, "{}"), false);
  assertEquals(await accepted(undefined, "{}"), false);
  assertEquals(await accepted("Bearer ", "{}", ""), false);
});

Deno.test("a nudge signed over its body is the pipeline within the window, either side of the clock", async () => {
  const body = '{"trigger": "insert", "booking_id": "20000000-0000-4000-8000-000000000001"}';
  const signed = await signNudge(body, SECRET, NOW);
  assertEquals(await accepted(`Bearer ${signed}`, body), true);
  for (const skew of [-SIGNATURE_WINDOW_SECONDS, SIGNATURE_WINDOW_SECONDS]) {
    assertEquals(await accepted(`Bearer ${signed}`, body, SECRET, NOW + skew * 1000), true, `skew ${skew} s`);
  }
  for (const skew of [-SIGNATURE_WINDOW_SECONDS - 1, SIGNATURE_WINDOW_SECONDS + 1]) {
    assertEquals(
      await accepted(`Bearer ${signed}`, body, SECRET, NOW + skew * 1000),
      false,
      `skew ${skew} s`,
    );
  }
});

Deno.test("a signature is good for its own body and secret only, and never for a forged time", async () => {
  const body = '{"trigger": "insert", "booking_id": "20000000-0000-4000-8000-000000000001"}';
  const signed = await signNudge(body, SECRET, NOW);
  assertEquals(await accepted(`Bearer ${signed}`, body.replace("0001", "0002")), false, "another booking");
  assertEquals(
    await accepted(`Bearer ${await signNudge(body, `${SECRET}!`, NOW)}`, body),
    false,
    "another secret",
  );
  const [, seconds, mac] = signed.split(".");
  assertEquals(await accepted(`Bearer v1.${Number(seconds) + 1}.${mac}`, body), false, "a time moved on");
  for (
    const malformed of [signed.toUpperCase(), `v2.${seconds}.${mac}`, `v1.${seconds}.${mac}0`, `v1..${mac}`]
  ) {
    assertEquals(await accepted(`Bearer ${malformed}`, body), false, malformed);
  }
});

Deno.test("property: whatever the body, its signature is accepted and no other body passes with it", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.string({ unit: "grapheme", maxLength: 200 }),
      fc.string({ minLength: 1, maxLength: 3 }),
      async (body, extra) => {
        const signed = `Bearer ${await signNudge(body, SECRET, NOW)}`;
        assertEquals(await accepted(signed, body), true);
        assertEquals(await accepted(signed, body + extra), false);
      },
    ),
    { numRuns: 200 },
  );
});
