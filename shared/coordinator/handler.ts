// The assignment-coordinator function's request handler: authenticate, validate, process the booking,
// answer, then keep draining due bookings for a while so retries and rate-limited bookings do not wait
// for the next sweep. Nothing is written for a rejected request.
import { z } from "../deps.ts";
import { idSchema } from "../domain/id.ts";
import { runInBackground } from "../http/background.ts";
import { within } from "../http/within.ts";
import { readPipelineRequest } from "../http/pipeline-request.ts";
import { errorResponse, json } from "../http/responses.ts";
import type { AssignmentStore } from "../store/port.ts";
import type { Logger } from "../telemetry/log.ts";
import type { CoordinatorConfig } from "./config.ts";
import { type CoordinatorOptions, processBooking } from "./coordinator.ts";
import { reseatReviews } from "./reseating.ts";

export const dispatchBodySchema = z.object({
  booking_id: idSchema("booking_id must be a UUID"),
  trigger: z.string().min(1).max(40).regex(/^[a-z_]+$/, "trigger must be lower_snake_case").default(
    "dispatch",
  ),
}).strict();

/** With nothing due the drain looks again after this long… */
export const DRAIN_POLL_MS = 100;
/** …and it ends once it has found nothing for this long… */
export const DRAIN_IDLE_MS = 1500;
/** …or at the latest this long after it began, under a hosted worker's wall clock (work left over is handed
 * to fresh requests by a sweep, see drain()). */
const DRAIN_MAX_MS = 120_000;
/** The request is answered by then, its attempt finished or not: inside the 5 s pg_net waits by default
 * (dispatch_timeout_ms), so a long attempt is not a failed dispatch in health. */
const ANSWER_WITHIN_MS = 4_000;

export interface CoordinatorDeps {
  store: AssignmentStore;
  config: CoordinatorConfig;
  logger: Logger;
  /** Runs in the background after a confirmation, e.g. to deliver the confirmation right away. */
  afterConfirm?: () => Promise<unknown>;
  /** The drain's cap (DRAIN_MAX_MS when absent; tests shorten it). */
  drainMaxMs?: number;
  /** When the request is answered at the latest (ANSWER_WITHIN_MS when absent; tests shorten it). */
  answerWithinMs?: number;
  /** Aborted when the runtime is about to end the instance (a hosted worker's `beforeunload`): the drain
   * claims nothing more, lets the bookings in progress finish and hands what is left to a sweep. */
  shutdown?: AbortSignal;
}

/** What each attempt is run with, from the deployment's settings. */
export function coordinatorOptions(config: CoordinatorConfig, logger: Logger): CoordinatorOptions {
  return {
    strategy: config.strategy,
    maxParallel: config.maxParallel ?? undefined,
    modeCeiling: config.modeCeiling,
    maxReplans: config.maxReplans,
    reoptimizeMaxMoves: config.reoptimizeMaxMoves,
    searchBudgetMs: config.searchBudgetMs,
    exactTimeLimitMs: config.exactBudgetMs,
    logger,
  };
}

export function createCoordinatorHandler(deps: CoordinatorDeps): (request: Request) => Promise<Response> {
  const { store, config, logger, answerWithinMs = ANSWER_WITHIN_MS } = deps;
  const options = coordinatorOptions(config, logger);
  let draining = false;
  let reseating = false;
  // Every request moves the end of the drain out, so an instance busy with a queue keeps draining it.
  let drainUntil = 0;

  async function run(bookingId: string, trigger: string) {
    const outcome = await processBooking(store, bookingId, trigger, options);
    if (outcome.outcome === "confirmed" && deps.afterConfirm) {
      runInBackground(
        deps.afterConfirm().catch((e) => logger.error("notifications", `delivery failed: ${e}`)),
      );
    }
    return outcome;
  }

  // A claim the database refused (a dropped connection, a restart) finds nothing this time; the loop polls
  // again, and ends after DRAIN_IDLE_MS of that, as with nothing due.
  async function claim(limit: number): Promise<string[]> {
    try {
      return await store.claimDue({ limit, visibilityMs: 10_000 });
    } catch (error) {
      logger.error("assignment.coordinator", `claim failed: ${error}`);
      return [];
    }
  }

  // One loop claims for up to config.drainWorkers bookings at once and claims again the moment one of them is
  // done, so a booking woken by the slot that booking freed is taken at once; with nothing due it looks again
  // every DRAIN_POLL_MS (one query, however many workers are idle).
  /** Resolves true when this call drained and stopped for want of work (not at its cap, not told to end). */
  async function drain(): Promise<boolean> {
    drainUntil = Date.now() + config.drainBudgetMs;
    if (draining || config.drainBudgetMs === 0 || deps.shutdown?.aborted) return false;
    draining = true;
    const hardStop = Date.now() + (deps.drainMaxMs ?? DRAIN_MAX_MS);
    let workLeft = false;
    const running = new Set<Promise<unknown>>();
    let idleSince = Date.now();
    let finished = 0;
    let nudge = () => {};
    const stop = () => nudge();
    deps.shutdown?.addEventListener("abort", stop);
    const stopping = () => deps.shutdown?.aborted === true;
    const sweepNow = () =>
      store.sweepNow().catch((e) => logger.error("assignment.coordinator", `hand-over sweep failed: ${e}`));
    let handOver: Promise<void> | undefined;
    try {
      while (
        !stopping() && Date.now() < Math.min(drainUntil, hardStop) && Date.now() - idleSince < DRAIN_IDLE_MS
      ) {
        const seen = finished;
        const free = config.drainWorkers - running.size;
        const due = free > 0 ? await claim(free) : [];
        workLeft = due.length > 0 || free === 0;
        // Told of the instance's end while the claim was on its way: what it took is not begun here, where its
        // leases would run out to the sweeper (and count toward the breaker); it comes due again once the
        // claim's visibility lapses.
        if (stopping()) break;
        for (const id of due) {
          const work = run(id, "drain")
            .catch((error) =>
              logger.error("assignment.coordinator", `drain failed: ${error}`, { booking_id: id })
            )
            .finally(() => {
              running.delete(work);
              finished++;
              nudge();
            });
          running.add(work);
        }
        if (due.length > 0) {
          idleSince = Date.now();
          // Work found: the drain goes on for another budget, so a queue behind a full restaurant is drained
          // by the instances already running.
          drainUntil = Math.max(drainUntil, Date.now() + config.drainBudgetMs);
          if (running.size < config.drainWorkers) continue;
        }
        if (running.size > 0) idleSince = Date.now();
        if (finished !== seen) continue; // a booking was done while claiming: its freed slot may have woken one
        // Until a booking is done, or the poll interval passes.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, DRAIN_POLL_MS);
          nudge = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        nudge = () => {};
      }
    } finally {
      // Stopped by the runtime with work still coming: the rest is handed over before waiting for the bookings
      // in progress, which an instance at its end may not be let finish (their leases run out to the sweeper).
      handOver = workLeft && stopping() ? sweepNow() : undefined;
      // Whatever ended the loop, the bookings in progress finish before the drain lets go of the instance.
      await Promise.allSettled(running);
      deps.shutdown?.removeEventListener("abort", stop);
      draining = false;
    }
    // Stopped by the cap or the runtime with work still coming: while a backlog lasts no request arrives to
    // start another loop (new bookings join the queue undispatched), so a sweep now dispatches the due ones,
    // whose requests take over, instead of the scheduled sweep up to 5 s later. After an early hand-over this
    // is a second sweep, for the bookings the finished ones woke as they freed their slots.
    await handOver;
    if (workLeft && (Date.now() >= hardStop || stopping())) {
      await sweepNow();
      return false;
    }
    return !workLeft && !stopping();
  }

  // Once a drain has run dry, or when the sweeper sends a review (trigger `reseating`) to an instance not
  // draining: one review of a restaurant with nothing waiting gets its search for alternatives that re-seat
  // other bookings. One search at a time per instance; none where the deployment's flags keep V3 off.
  async function reseat(): Promise<void> {
    if (reseating || deps.shutdown?.aborted || config.modeCeiling !== null) return;
    reseating = true;
    try {
      await reseatReviews(store, {
        strategy: config.strategy,
        maxMoves: config.reoptimizeMaxMoves,
        budgetMs: config.reseatingBudgetMs,
        logger,
      });
    } finally {
      reseating = false;
    }
  }

  return async (request) => {
    if (request.method !== "POST") {
      return errorResponse(405, "method_not_allowed", 'use POST with a JSON body {"booking_id": "<uuid>"}');
    }
    const received = await readPipelineRequest(
      request,
      config.secret,
      "assignment-coordinator",
      config.previousSecret ?? null,
    );
    if (!received.ok) return received.response;
    let value: unknown;
    try {
      value = JSON.parse(received.body);
    } catch {
      return errorResponse(400, "invalid_json", "the request body is not valid JSON");
    }
    const parsed = dispatchBodySchema.safeParse(value);
    if (!parsed.success) {
      return errorResponse(400, "invalid_body", z.prettifyError(parsed.error), {
        issues: parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })),
      });
    }
    const bookingId = parsed.data.booking_id;
    const nudged = parsed.data.trigger === "reseating";
    // A failure before the answer is logged once, below; one after it, here.
    let answered = false;
    try {
      // The attempt, and the drain after it, are the runtime's to keep alive before the attempt is awaited:
      // pg_net stops waiting for the answer after dispatch_timeout_ms (5 s), and an instance whose client has
      // gone, with nothing handed to the runtime, may be retired mid-attempt, leaving the lease to run out.
      const attempt = run(bookingId, parsed.data.trigger);
      runInBackground(attempt.then(
        () =>
          drain().catch((e) => {
            logger.error("assignment.coordinator", `drain stopped: ${e}`);
            return false;
          }).then((ranDry) => ranDry || (nudged && !draining) ? reseat() : undefined),
        (error) => {
          if (answered) {
            logger.error("assignment.coordinator", `unhandled: ${error}`, { booking_id: bookingId });
          }
        },
      ));
      const outcome = await within(attempt, answerWithinMs);
      if (outcome === undefined) {
        // A long attempt (a lock waited for, the exact solver) answers before pg_net gives up on it, which
        // health would count among the failed dispatches, and goes on.
        answered = true;
        return json(202, { booking_id: bookingId, still_processing: true });
      }
      return json(200, { booking_id: bookingId, ...outcome });
    } catch (error) {
      logger.error("assignment.coordinator", `unhandled: ${error}`, { booking_id: bookingId });
      return errorResponse(500, "internal_error", "the booking could not be processed; it will be retried");
    }
  };
}
