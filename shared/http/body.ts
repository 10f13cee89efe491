// Reading a request body with a ceiling and a deadline. The pipeline's callers send a few hundred bytes at
// once, so a large body is refused before it is read: by its declared length when it has one, else as soon as
// the bytes received pass the ceiling, so no request can make a function buffer megabytes. The body is read
// before the signature over it can be checked, so a caller without the secret could otherwise hold a request
// open for as long as the platform allows by sending a byte now and then: a body not in by the deadline is
// refused too, and so is one whose stream breaks off (the caller reset the connection): answered like any bad
// request, not left to the runtime as an uncaught error.

/** Far above any body the pipeline sends ({"booking_id": …, "trigger": …}). */
export const MAX_BODY_BYTES = 16 * 1024;
/**
 * Far above the time such a body takes: pg_net's comes with its request. A caller that trickles one is cut
 * off long before pg_net would stop waiting for an answer (dispatch_timeout_ms, at least 5 s).
 */
export const BODY_WITHIN_MS = 1_000;

export type BodyText = { ok: true; text: string } | { ok: false; why: "too_large" | "too_slow" | "broken" };

export async function readBodyText(
  request: Request,
  maxBytes = MAX_BODY_BYTES,
  withinMs = BODY_WITHIN_MS,
): Promise<BodyText> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > maxBytes) return { ok: false, why: "too_large" };
  if (!request.body) return { ok: true, text: "" };
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => timer = setTimeout(() => resolve("late"), withinMs));
  try {
    for (;;) {
      const next = await Promise.race([reader.read().catch(() => "broken" as const), late]);
      if (next === "broken") return { ok: false, why: "broken" };
      if (next === "late") {
        reader.cancel().catch(() => {});
        return { ok: false, why: "too_slow" };
      }
      if (next.done) break;
      size += next.value.byteLength;
      if (size > maxBytes) {
        await reader.cancel();
        return { ok: false, why: "too_large" };
      }
      chunks.push(next.value);
    }
  } finally {
    clearTimeout(timer);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { ok: true, text: new TextDecoder().decode(bytes) };
}
