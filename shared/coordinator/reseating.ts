// The re-seating search for bookings in review (engine/reseating.ts), run by a coordinator instance once its
// drain has nothing left to do: only reviews of restaurants with nothing waiting are searched, so the search
// never takes time from a booking being assigned. Each booking's result — offers, or none — is stored for its
// review, so it is searched once, unless its budget ran out before some times were decided: then a later run
// tries those alone (four searches at most, the database counts). A failure is logged and the booking is
// tried again after the next drain.
import { snapshotSchema } from "../domain/snapshot.ts";
import { findReseatingOffers } from "../engine/reseating.ts";
import { inExactTurn } from "../engine/exact/turns.ts";
import type { ExactSolver } from "../engine/exact/highs.ts";
import { type AssignmentStore, StoreError } from "../store/port.ts";
import type { Logger } from "../telemetry/log.ts";

export interface ReseatingSearchOptions {
  strategy: string;
  maxMoves: number;
  /** Time per booking searched; 0 turns the search off. */
  budgetMs: number;
  /** Bookings searched per call at most (DEFAULT_PER_RUN when absent). */
  perRun?: number;
  solver?: ExactSolver;
  logger: Logger;
}

const SOURCE = "assignment.reseating";
/** One review per drain: its search's CPU stays well inside a hosted request's 2 s, beside the drain's own. */
const DEFAULT_PER_RUN = 1;

/** Searches the reviews due for it; resolves to how many got at least one offer. Never throws. */
export async function reseatReviews(
  store: AssignmentStore,
  options: ReseatingSearchOptions,
): Promise<number> {
  if (options.budgetMs <= 0) return 0;
  let ids: string[];
  try {
    ids = await store.reviewsToReseat(options.perRun ?? DEFAULT_PER_RUN);
  } catch (error) {
    options.logger.error(SOURCE, `could not list the reviews to search: ${error}`);
    return 0;
  }
  let offered = 0;
  for (const id of ids) {
    try {
      if (await searchOne(store, id, options) > 0) offered++;
    } catch (error) {
      options.logger.error(SOURCE, `re-seating search failed: ${error}`, { booking_id: id });
    }
  }
  return offered;
}

async function searchOne(store: AssignmentStore, bookingId: string, options: ReseatingSearchOptions) {
  const probes = await store.reseatingProbes(bookingId);
  if (probes.outcome === "skip") return 0;
  // A search that cannot run (a snapshot that does not parse, an engine error) is stored as finding none, so
  // the review is not tried again and again ahead of the others.
  let found: Awaited<ReturnType<typeof findReseatingOffers>> = { offers: [], undecided: [], exhausted: [] };
  try {
    const snapshot = snapshotSchema.parse(probes.snapshot);
    if (probes.probes.length > 0) {
      // One turn at the instance's solver for the whole search, its budget timed from the turn's start. Kept
      // waiting by bookings' solves, it gives way to them and the review stays due for a later search.
      const searched = await inExactTurn(() =>
        findReseatingOffers(snapshot, probes.probes, {
          strategy: options.strategy,
          maxMoves: options.maxMoves,
          budgetMs: options.budgetMs,
          solver: options.solver,
        }), 4 * options.budgetMs);
      if (searched === undefined) return 0;
      found = searched;
    }
  } catch (error) {
    options.logger.error(SOURCE, `re-seating search failed: ${error}`, { booking_id: bookingId });
  }
  let stored: "stored" | "stale";
  try {
    stored = await store.offerReseating({
      bookingId,
      review: probes.review,
      offers: found.offers,
      undecided: found.undecided,
      search: probes.search,
    });
  } catch (error) {
    // Offers the database refuses (a time that passed during the search, a rule this search does not know):
    // stored as none, so the review is not searched again and again ahead of the others.
    if (!(error instanceof StoreError && error.code === "AS005")) throw error;
    options.logger.error(SOURCE, `offers refused: ${error.message}`, { booking_id: bookingId });
    found = { offers: [], undecided: [], exhausted: [] };
    stored = await store.offerReseating({
      bookingId,
      review: probes.review,
      offers: [],
      search: probes.search,
    });
  }
  options.logger.info(SOURCE, `re-seating search: ${found.offers.length} offers (${stored})`, {
    booking_id: bookingId,
    times: probes.probes.length,
    undecided: found.undecided.length,
    exhausted: found.exhausted.length,
  });
  return stored === "stored" ? found.offers.length : 0;
}
