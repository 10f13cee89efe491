// The exact solver's turns in this instance. HiGHS runs synchronously and holds the thread, so solves side by
// side (a drain's workers, a request beside them, a review's re-seating search) would each spend the others'
// running time out of their own wall-clock budgets and send parties a re-seating could seat to review. They
// take turns instead, each timing its budget from the start of its turn. A turn that has not begun within
// `maxWaitMs` of being asked for is given up (`undefined`), so an attempt does not hold its lease waiting.

let turns: Promise<unknown> = Promise.resolve();

export function inExactTurn<T>(solve: () => Promise<T>, maxWaitMs = Infinity): Promise<T | undefined> {
  const asked = performance.now();
  const turn = turns.then(() => (performance.now() - asked > maxWaitMs ? undefined : solve()));
  turns = turn.catch(() => undefined);
  return turn;
}
