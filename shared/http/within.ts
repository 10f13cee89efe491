// Waiting for work up to a deadline without stopping it: what an edge function needs when its caller stops
// waiting first (pg_net after 5 s) and when a database call must not hang an attempt.

/** The work's result if it settles within `ms`, else undefined; the work itself goes on either way. */
export async function within<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
