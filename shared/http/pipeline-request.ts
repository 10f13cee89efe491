// A request to one of the pipeline's functions: authenticated (shared/http/secret.ts) and its body read with the
// ceiling and the deadline (shared/http/body.ts). A header that cannot be the pipeline's is refused before the
// body is read; a signature's MAC can only be checked after.
import { BODY_WITHIN_MS, MAX_BODY_BYTES, readBodyText } from "./body.ts";
import { errorResponse } from "./responses.ts";
import { callerOf, verdictOf } from "./secret.ts";

export type PipelineRequest = { ok: true; body: string } | { ok: false; response: Response };

/**
 * `fn`: the function's own name, which a nudge's signature covers; `previousSecret`: the secret a rotation
 * replaces, whose signatures still count until it is unset.
 */
export async function readPipelineRequest(
  request: Request,
  secret: string,
  fn: string,
  previousSecret: string | null = null,
): Promise<PipelineRequest> {
  const unauthorized = () => ({
    ok: false as const,
    response: errorResponse(
      401,
      "unauthorized",
      "missing, stale or wrong pipeline signature or secret in the Authorization header",
    ),
  });
  const caller = callerOf(request, secret);
  if (!caller) return unauthorized();
  const body = await readBodyText(request);
  if (!body.ok) {
    return {
      ok: false,
      response: body.why === "too_large"
        ? errorResponse(413, "body_too_large", `the request body exceeds ${MAX_BODY_BYTES} bytes`)
        : body.why === "too_slow"
        ? errorResponse(408, "body_too_slow", `the request body did not arrive within ${BODY_WITHIN_MS} ms`)
        : errorResponse(400, "body_broken", "the request body broke off before it was whole"),
    };
  }
  const verdict = await verdictOf(caller, fn, body.text, secret, previousSecret);
  if (verdict === "pipeline") return { ok: true, body: body.text };
  // Signed with the secret, but late: kept apart from 401, which health reads as a secret or URL that does not
  // match.
  if (verdict === "late") {
    return {
      ok: false,
      response: errorResponse(408, "stale_signature", "the nudge's signature is too old: it was sent late"),
    };
  }
  return unauthorized();
}
