// first_fit: the legacy planner's choice. The first table in table-number order whose party range fits;
// failing that, the first combination in the same order. Kept as the baseline V3 is measured against.
import type { Strategy } from "./strategy.ts";

export const firstFit: Strategy = {
  name: "first_fit",
  description: "the legacy planner: first fitting table in table-number order, then the first combination",
  rank(candidates) {
    // enumerateCandidates already lists singles before combinations, each in table-number order.
    return candidates.map((candidate, index) => ({ candidate, score: index }));
  },
};
