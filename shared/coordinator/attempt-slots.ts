// How many attempts an instance runs at once. Each attempt holds one of the instance's database connections
// at a time, so past the pool's size attempts queue for connections, and an attempt already under way (its
// lease taken, a slot of its restaurant's max_parallel held) waits for its snapshot or commit behind the
// leases of bookings that have not begun. A request is answered within 4 s while its attempt goes on, so a
// burst of nudges leaves as many attempts in the instance as it had requests: 2,500 bookings inserted at once
// for one restaurant queued 2,500 leases for six connections, the attempts under way timed out after 30 s, the
// breaker opened and the restaurant's queue stood still. An attempt now waits for a slot of its instance before
// it leases, so waiting holds no lease, no connection and no restaurant slot; one that has waited longer than
// it may is not begun at all (its booking is still due, and a claim or a sweep takes it again).

/** Runs `work` once fewer than `size` others run, first come first served; `undefined` without running it
 * when no slot was free within `maxWaitMs`. */
export type InAttemptSlot = <T>(work: () => Promise<T>, maxWaitMs: number) => Promise<T | undefined>;

export function attemptSlots(size: number): InAttemptSlot {
  let running = 0;
  const waiting: Array<{ start: () => void; expired: boolean }> = [];
  const release = () => {
    // The slot passes straight to the longest waiter still waiting, so nobody arriving meanwhile takes it.
    for (let next = waiting.shift(); next; next = waiting.shift()) {
      if (!next.expired) return next.start();
    }
    running--;
  };
  return async (work, maxWaitMs) => {
    if (running < size) {
      running++;
    } else {
      const started = await new Promise<boolean>((resolve) => {
        const waiter = { expired: false, start: () => {} };
        const timer = setTimeout(() => {
          waiter.expired = true;
          resolve(false);
        }, maxWaitMs);
        waiter.start = () => {
          clearTimeout(timer);
          resolve(true);
        };
        waiting.push(waiter);
      });
      if (!started) return undefined;
    }
    try {
      return await work();
    } finally {
      release();
    }
  };
}
