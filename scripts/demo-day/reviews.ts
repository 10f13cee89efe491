// Which manual reviews a demo day expects: the engine's verdict that demand passed the tables, or attempts used
// up whose last one ended in that verdict (as the review queue reads them, private.time_may_cure). Any other
// reason (an error, a lease that ran out, lost races, a breaker, a wait for a slot, a solver that failed) means
// the pipeline misbehaved, and fails the demo.
const DEMAND_CODES = ["no_table_fits", "exact_search_budget_exhausted"];
const LAST = "; last: ";

/** The reason's code: the word before its first colon. */
export const reasonCode = (reason: string) => reason.split(":", 1)[0];

export function isDemand(reason: string): boolean {
  if (reason.includes("stopped when the solver failed")) return false;
  if (DEMAND_CODES.includes(reasonCode(reason))) return true;
  const last = reason.indexOf(LAST);
  return reasonCode(reason) === "attempts_exhausted" && last >= 0 &&
    DEMAND_CODES.includes(reasonCode(reason.slice(last + LAST.length)));
}
