// HS256 JSON Web Tokens, as a Supabase project's API keys and its users' access tokens are: minted here
// with a secret of the test's own, and verified the way PostgREST verifies them (signature, then `exp`).
const encoder = new TextEncoder();

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

async function hmacKey(secret: string): Promise<CryptoKey> {
  return await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
}

export async function mintJwt(secret: string, claims: Record<string, unknown>): Promise<string> {
  const header = base64url(encoder.encode(JSON.stringify({ alg: "HS256", typ: "JWT" })));
  const payload = base64url(encoder.encode(JSON.stringify(claims)));
  const signature = await crypto.subtle.sign(
    "HMAC",
    await hmacKey(secret),
    encoder.encode(`${header}.${payload}`),
  );
  return `${header}.${payload}.${base64url(new Uint8Array(signature))}`;
}

export type Verified =
  | { ok: true; claims: Record<string, unknown> }
  | { ok: false; code: "PGRST301" | "PGRST303"; message: string };

export async function verifyJwt(secret: string, token: string, nowSeconds: number): Promise<Verified> {
  const parts = token.split(".");
  if (parts.length !== 3) {
    return { ok: false, code: "PGRST301", message: "Expected 3 parts in JWT; got " + parts.length };
  }
  try {
    const header = JSON.parse(new TextDecoder().decode(fromBase64url(parts[0])));
    if (header.alg !== "HS256") {
      return { ok: false, code: "PGRST301", message: "Wrong or unsupported encoding algorithm" };
    }
    const valid = await crypto.subtle.verify(
      "HMAC",
      await hmacKey(secret),
      fromBase64url(parts[2]),
      encoder.encode(`${parts[0]}.${parts[1]}`),
    );
    if (!valid) return { ok: false, code: "PGRST301", message: "JWSError JWSInvalidSignature" };
    const claims = JSON.parse(new TextDecoder().decode(fromBase64url(parts[1])));
    if (typeof claims.exp === "number" && claims.exp <= nowSeconds) {
      return { ok: false, code: "PGRST303", message: "JWT expired" };
    }
    return { ok: true, claims };
  } catch {
    return { ok: false, code: "PGRST301", message: "JWSError (CompactDecodeError Invalid number of parts)" };
  }
}
