// The pipeline's callers: pg_net's nudges signed with the secret over their function, exact body and time,
// direct callers with the secret itself; anything else, a tampered nudge included, is not the pipeline, and a
// nudge sent late is told apart from a wrong one.
import fc from "fast-check";
import { assertEquals } from "../testing/assert.ts";
import { callerOf, SIGNATURE_WINDOW_SECONDS, signNudge, verdictOf } from "./secret.ts";

const SECRET = "a-pipeline-secret-of-some-length";
const FN = "assignment-coordinator";
const NOW = Date.parse("2030-06-03T19:00:00Z");
const BODY = '{"trigger": "insert", "booking_id": "20000000-0000-4000-8000-000000000001"}';

const request = (authorization?: string) =>
  new Request("http://local/", { method: "POST", headers: authorization ? { authorization } : {} });

/** Whether a request with this header and body is the pipeline's, as the function `fn` decides. */
async function accepted(
  authorization: string | undefined,
  body: string,
  options: { fn?: string; nowMs?: number } = {},
) {
  const caller = callerOf(request(authorization), SECRET, options.nowMs ?? NOW);
  return typeof caller === "object" && caller !== null &&
    await verdictOf(caller, options.fn ?? FN, body, SECRET) === "pipeline";
}

Deno.test("the signature is the one Postgres makes: a vector private.nudge_signature gives (pgTAP 80)", async () => {
  assertEquals(
    await signNudge(FN, BODY, SECRET, 1_900_000_000_000),
    "v1.1900000000.2118002e26f0037fcfc707fb6428cd2d7532430285f3136b10f3d3f5ea6682a9",
  );
});

Deno.test("the secret itself is the pipeline, whatever the case of the scheme; another, none or an empty configured one is not", async () => {
  assertEquals(await accepted(`Bearer ${SECRET}`, "{}"), true);
  assertEquals(await accepted(`bearer ${SECRET}`, "{}"), true);
  assertEquals(await accepted(`BEARER ${SECRET}`, "{}"), true);
  assertEquals(await accepted(`Bearer ${SECRET}x`, "{}"), false);
  assertEquals(await accepted(`Basic ${SECRET}`, "{}"), false);
  assertEquals(await accepted(undefined, "{}"), false);
  assertEquals(callerOf(request("Bearer "), ""), null);
});

Deno.test("a signed nudge is the pipeline within the window either side of the clock, and late outside it", async () => {
  const signed = `Bearer ${await signNudge(FN, BODY, SECRET, NOW)}`;
  assertEquals(await accepted(signed, BODY), true);
  for (const skew of [-SIGNATURE_WINDOW_SECONDS, SIGNATURE_WINDOW_SECONDS]) {
    assertEquals(await accepted(signed, BODY, { nowMs: NOW + skew * 1000 }), true, `skew ${skew} s`);
  }
  for (const skew of [-SIGNATURE_WINDOW_SECONDS - 1, SIGNATURE_WINDOW_SECONDS + 1]) {
    assertEquals(await accepted(signed, BODY, { nowMs: NOW + skew * 1000 }), false, `skew ${skew} s`);
    const caller = callerOf(request(signed), SECRET, NOW + skew * 1000)!;
    assertEquals(await verdictOf(caller, FN, BODY, SECRET), "late", `late by ${skew} s`);
    assertEquals(
      await verdictOf(caller, FN, `${BODY} `, SECRET),
      "refused",
      `late by ${skew} s, and not this body's`,
    );
  }
});

Deno.test("a signature is good for its own function, body and secret only, and never for a forged time", async () => {
  const signed = await signNudge(FN, BODY, SECRET, NOW);
  assertEquals(await accepted(`Bearer ${signed}`, BODY.replace("0001", "0002")), false, "another booking");
  assertEquals(
    await accepted(`Bearer ${signed}`, BODY, { fn: "notification-dispatcher" }),
    false,
    "another function",
  );
  assertEquals(
    await accepted(`Bearer ${await signNudge(FN, BODY, `${SECRET}!`, NOW)}`, BODY),
    false,
    "another secret",
  );
  const [, seconds, mac] = signed.split(".");
  assertEquals(await accepted(`Bearer v1.${Number(seconds) + 1}.${mac}`, BODY), false, "a time moved on");
  for (
    const malformed of [signed.toUpperCase(), `v2.${seconds}.${mac}`, `v1.${seconds}.${mac}0`, `v1..${mac}`]
  ) {
    assertEquals(await accepted(`Bearer ${malformed}`, BODY), false, malformed);
  }
});

Deno.test("property: whatever the body, its signature is accepted and no other body passes with it", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.string({ unit: "grapheme", maxLength: 200 }),
      fc.string({ minLength: 1, maxLength: 3 }),
      async (body, extra) => {
        const signed = `Bearer ${await signNudge(FN, body, SECRET, NOW)}`;
        assertEquals(await accepted(signed, body), true);
        assertEquals(await accepted(signed, body + extra), false);
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("during a rotation a nudge signed with the previous secret is the pipeline's, the previous secret itself is not", async () => {
  const previous = "the-secret-being-rotated-out";
  const verdict = async (authorization: string, previousSecret: string | null, nowMs = NOW) => {
    const caller = callerOf(request(authorization), SECRET, nowMs);
    return caller === null ? "not the pipeline" : await verdictOf(caller, FN, BODY, SECRET, previousSecret);
  };
  const signedBefore = `Bearer ${await signNudge(FN, BODY, previous, NOW)}`;
  assertEquals(
    await verdict(signedBefore, previous),
    "pipeline",
    "Vault still signs with the previous secret",
  );
  assertEquals(await verdict(signedBefore, null), "refused", "once it is unset, no longer");
  assertEquals(
    await verdict(`Bearer ${await signNudge(FN, BODY, SECRET, NOW)}`, previous),
    "pipeline",
    "the new one",
  );
  assertEquals(
    await verdict(signedBefore, previous, NOW + (SIGNATURE_WINDOW_SECONDS + 1) * 1000),
    "late",
    "sent late is late, whichever secret signed it",
  );
  assertEquals(
    await verdict(`Bearer ${previous}`, previous),
    "not the pipeline",
    "only the current secret itself",
  );
  assertEquals(
    await verdict(`Bearer ${await signNudge(FN, BODY, "a-third-secret-of-some-length", NOW)}`, previous),
    "refused",
  );
});
