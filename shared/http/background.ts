// Work that continues after the response: draining due bookings, delivering a confirmation.

type EdgeRuntimeGlobal = { EdgeRuntime?: { waitUntil(p: Promise<unknown>): void } };

/** Keep the instance alive for background work on Supabase; a plain Deno server just lets it run. */
export function runInBackground(work: Promise<unknown>): void {
  const runtime = (globalThis as EdgeRuntimeGlobal).EdgeRuntime;
  if (runtime) runtime.waitUntil(work);
}
