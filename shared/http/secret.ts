// The pipeline's callers (pg_net, the sweeper) authenticate with the shared secret as a bearer token.

/** Constant-time comparison of the bearer token with the pipeline secret. */
export function hasSecret(request: Request, secret: string): boolean {
  const header = request.headers.get("authorization") ?? "";
  const token = header.startsWith("Bearer ") ? header.slice(7) : "";
  const a = new TextEncoder().encode(token);
  const b = new TextEncoder().encode(secret);
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i] ?? 0) ^ b[i];
  return diff === 0 && secret.length > 0;
}
