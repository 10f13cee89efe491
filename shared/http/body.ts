// Reading a request body with a ceiling. The pipeline's callers send a few hundred bytes at most, so a
// large body is refused before it is read: by its declared length when it has one, else as soon as the
// bytes received pass the ceiling, so no request can make a function buffer megabytes.

/** Far above any body the pipeline sends ({"booking_id": …, "trigger": …}). */
export const MAX_BODY_BYTES = 16 * 1024;

export type BodyText = { ok: true; text: string } | { ok: false };

export async function readBodyText(request: Request, maxBytes = MAX_BODY_BYTES): Promise<BodyText> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > maxBytes) return { ok: false };
  if (!request.body) return { ok: true, text: "" };
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      return { ok: false };
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { ok: true, text: new TextDecoder().decode(bytes) };
}
