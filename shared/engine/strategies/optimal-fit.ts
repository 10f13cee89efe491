// optimal_fit: the fewest wasted seats; on a tie a single table before a combination, then fewer tables,
// then the smaller total capacity.
import { byScoreThenKey, type Strategy } from "./strategy.ts";

export const optimalFit: Strategy = {
  name: "optimal_fit",
  description: "least wasted seats, single table before combination, fewest tables",
  rank(candidates) {
    return candidates
      .map((candidate) => ({
        candidate,
        score: candidate.slack * 1000 + (candidate.tables.length - 1) * 10 + candidate.capacity / 100,
      }))
      .sort(byScoreThenKey);
  },
};
