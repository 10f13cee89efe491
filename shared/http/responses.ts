// JSON responses with a stable error `code`, and reading a JSON body, for the pipeline's functions.

export function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8" },
  });
}

export function errorResponse(status: number, code: string, message: string, extra: object = {}): Response {
  return json(status, { error: { code, message, ...extra } });
}

/** Parse a JSON body; not ok when it is not JSON. */
export async function readJson(request: Request): Promise<{ ok: true; value: unknown } | { ok: false }> {
  try {
    return { ok: true, value: await request.json() };
  } catch {
    return { ok: false };
  }
}
