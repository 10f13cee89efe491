// Why a review got no alternative: what happened to each grid time within ±90 minutes of the request. A time
// is either past (before the request was made: walk-ins and late bookings), outside the service (the stay
// would start before it opens or end after it closes), or full (open, and no arrangement the rules allow is
// free). A miss whose every time was full is peak saturation; otherwise each cut that removed times is
// counted, beside whether the times left were all full.
import {
  ALTERNATIVE_WINDOW_MINUTES,
  type AlternativesInput,
  GRID_MINUTES,
  rankedOptions,
} from "./review-alternatives.ts";

const MIN = 60_000;

export type MissCause =
  /** No arrangement of the room's tables ever seats the party. */
  | "no_arrangement"
  /** Every grid time within the window was open and not past, and all were full. */
  | "saturation"
  /** Some earlier times were before the request was made. */
  | "past"
  /** Some times fell outside the service period (its start or its end). */
  | "service_start"
  | "service_end";

/** The causes of a miss (several when several cuts removed times); [] when an alternative exists. */
export function missCauses(input: AlternativesInput): MissCause[] {
  const options = rankedOptions(input);
  if (options.length === 0) return ["no_arrangement"];
  const base = Math.floor(input.startAt / (GRID_MINUTES * MIN)) * GRID_MINUTES * MIN;
  const causes = new Set<MissCause>();
  for (let k = -6; k <= 6; k++) {
    const start = base + k * GRID_MINUTES * MIN;
    if (start === input.startAt || Math.abs(start - input.startAt) > ALTERNATIVE_WINDOW_MINUTES * MIN) {
      continue;
    }
    const end = start + input.stayMs;
    if (start <= input.now) causes.add("past");
    else if (!input.isOpen(start, end)) causes.add(start < input.startAt ? "service_start" : "service_end");
    else {
      const [from, to] = [start - input.bufferBeforeMs, end + input.bufferAfterMs];
      if (options.some((c) => input.isFree(c.tables.map((t) => t.id), from, to))) return [];
    }
  }
  return causes.size === 0 ? ["saturation"] : [...causes];
}
