// Confirmations delivered in batches: every confirmed booking asks for a delivery, and a burst of them would
// otherwise cost the outbox one claim per booking. Asks within a window share one run.

/**
 * Wraps `run` so that asks share runs: the first ask schedules a run `windowMs` later and the asks until it
 * starts join it; an ask while it runs schedules the next one, which starts once the window has passed and
 * the run before it has ended. Each ask resolves when the run that covers it has ended, and rejects with
 * it (so `run` should report its own errors: every ask of the batch would otherwise report the same one);
 * a failed run does not stop the ones after it.
 */
export function batched(run: () => Promise<void>, windowMs: number): () => Promise<void> {
  let next: Promise<void> | undefined;
  let previous: Promise<void> = Promise.resolve();
  return () =>
    next ??= (async () => {
      await new Promise((resolve) => setTimeout(resolve, windowMs));
      await previous;
      // Asks from here on are for the run after this one.
      next = undefined;
      const current = run();
      previous = current.catch(() => {});
      await current;
    })();
}
