// The pipeline's callers authenticate with the shared secret. Nudges from Postgres (pg_net) carry a signature
// made with it, `v1.<unix seconds>.<hex HMAC-SHA256 of "<seconds>.<function>.<body>">`, because they wait in
// net.http_request_queue, which every database role can read: what can be read there is good for that one
// function and body, for a few minutes, and never the secret. Direct callers (an operator's curl, the tests)
// may send the secret itself. While a secret is rotated, a nudge signed with the previous one is the pipeline's
// too (Vault keeps signing with it until the operator changes it there), but only the current secret itself is.

/** How far a signature's time may be from this instance's clock, either way: pg_net's delay plus clock skew. */
export const SIGNATURE_WINDOW_SECONDS = 300;

/** Who the Authorization header says is calling, read before the body. */
export type Caller = { kind: "secret" } | { kind: "signed"; seconds: string; mac: string; late: boolean };

const SIGNED = /^v1\.(\d{1,12})\.([0-9a-f]{64})$/;

/**
 * The caller, or null: not the pipeline. A signature whose time lies outside the window is `late` (a nudge pg_net
 * sent late, or a clock far off): once its MAC is checked, told apart from a wrong one.
 */
export function callerOf(request: Request, secret: string, nowMs = Date.now()): Caller | null {
  if (secret.length === 0) return null;
  const header = request.headers.get("authorization") ?? "";
  // The scheme's name is case-insensitive (RFC 9110), as an operator's curl may spell it.
  const token = /^bearer /i.test(header) ? header.slice(7) : "";
  if (equalInConstantTime(token, secret)) return { kind: "secret" };
  const signed = SIGNED.exec(token);
  if (!signed) return null;
  const [, seconds, mac] = signed;
  return {
    kind: "signed",
    seconds,
    mac,
    late: Math.abs(Number(seconds) - nowMs / 1000) > SIGNATURE_WINDOW_SECONDS,
  };
}

/**
 * What the caller is, now that the body it sent to `fn` (the function's name) is read: the pipeline; a nudge
 * signed with the secret (or, during a rotation, the previous one) but late; or refused. Two MACs at most.
 */
export async function verdictOf(
  caller: Caller,
  fn: string,
  body: string,
  secret: string,
  previousSecret: string | null = null,
): Promise<"pipeline" | "late" | "refused"> {
  if (caller.kind === "secret") return "pipeline";
  const message = `${caller.seconds}.${fn}.${body}`;
  const signedBy = async (key: string) => equalInConstantTime(caller.mac, await sign(message, key));
  if (!(await signedBy(secret)) && !(previousSecret !== null && await signedBy(previousSecret))) {
    return "refused";
  }
  return caller.late ? "late" : "pipeline";
}

/** The signature Postgres puts on a nudge to `fn` (private.nudge_signature), for tests and direct callers. */
export async function signNudge(
  fn: string,
  body: string,
  secret: string,
  nowMs = Date.now(),
): Promise<string> {
  const seconds = String(Math.floor(nowMs / 1000));
  return `v1.${seconds}.${await sign(`${seconds}.${fn}.${body}`, secret)}`;
}

/** The keys of the secrets in use: the current one, and the previous one during a rotation. */
const keys = new Map<string, Promise<CryptoKey>>();

async function sign(message: string, secret: string): Promise<string> {
  let key = keys.get(secret);
  if (key === undefined) {
    if (keys.size >= 2) keys.clear();
    const raw = new TextEncoder().encode(secret);
    key = crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    keys.set(secret, key);
  }
  const mac = await crypto.subtle.sign("HMAC", await key, new TextEncoder().encode(message));
  return Array.from(new Uint8Array(mac), (b) => b.toString(16).padStart(2, "0")).join("");
}

function equalInConstantTime(given: string, expected: string): boolean {
  const a = new TextEncoder().encode(given);
  const b = new TextEncoder().encode(expected);
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i] ?? 0) ^ b[i];
  return diff === 0 && b.length > 0;
}
