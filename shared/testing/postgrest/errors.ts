// PostgREST's error answers: the body {code, message, details, hint} and the HTTP status it gives each
// SQLSTATE (its documented table, "HTTP Status Codes"), so a client sees what it would see in production.

export function pgrstError(
  status: number,
  code: string,
  message: string,
  details: string | null = null,
  hint: string | null = null,
  headers: HeadersInit = {},
): Response {
  return Response.json({ code, message, details, hint }, { status, headers });
}

/** `authenticated`: the request's role is not the anonymous one (42501 is 403 then, 401 otherwise). */
export function statusForSqlState(code: string, authenticated: boolean): number {
  const exact: Record<string, number> = {
    "23503": 409,
    "23505": 409,
    "25006": 405,
    "42883": 404,
    "42P01": 404,
    "42501": authenticated ? 403 : 401,
    "P0001": 400,
  };
  if (code in exact) return exact[code];
  const byClass: [string, number][] = [
    ["08", 503],
    ["09", 500],
    ["0L", 403],
    ["0P", 403],
    ["25", 500],
    ["28", 403],
    ["2D", 500],
    ["38", 500],
    ["39", 500],
    ["3B", 500],
    ["40", 500],
    ["53", 503],
    ["54", 413],
    ["55", 500],
    ["57", 500],
    ["58", 500],
    ["F0", 500],
    ["HV", 500],
    ["P0", 500],
    ["XX", 500],
  ];
  return byClass.find(([prefix]) => code.startsWith(prefix))?.[1] ?? 400;
}
