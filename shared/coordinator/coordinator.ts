// The coordinator for one booking: a lease and its snapshot (Postgres) → plan (engine) → commit (Postgres),
// re-planning on a fresh snapshot when a commit loses a race, and reporting every other ending through `fail`
// so Postgres decides between retry and manual review. Postgres holds the state; this holds no state at all.
import { DEFAULT_MAX_MOVES, planWithMoves } from "../engine/reoptimize.ts";
import {
  DEFAULT_EXACT_TIME_LIMIT_MS,
  type ExactOptions,
  type ExactOutcome,
  moreTimeMayDecide,
  NEIGHBOURHOODS_MS,
  planExactly,
  reasonSentence,
} from "../engine/exact/fallback.ts";
import type { ExactSolver } from "../engine/exact/highs.ts";
import { inExactTurn } from "../engine/exact/turns.ts";
import { type Snapshot, snapshotSchema } from "../domain/snapshot.ts";
import type { Move } from "../domain/move.ts";
import { type AssignmentStore, type ModeCeiling, type ShadowComparison, StoreError } from "../store/port.ts";
import { SQLSTATE } from "../store/sqlstate.ts";
import { compareWithCandidate } from "./shadow.ts";
import type { Logger } from "../telemetry/log.ts";
import { scrub, scrubAndCut } from "../telemetry/personal-data.ts";

export interface CoordinatorOptions {
  /** The V3 strategy (used in v3 mode, and as the shadow candidate). */
  strategy: string;
  maxParallel?: number;
  modeCeiling?: ModeCeiling;
  /** Re-plans allowed after lost races before the attempt is given up as a conflict. */
  maxReplans: number;
  /** Most bookings one new booking may move where re-optimisation is on (v3 mode only). */
  reoptimizeMaxMoves?: number;
  /**
   * Wall time per attempt for the bounded re-optimisation search, shared by its re-plans
   * (DEFAULT_SEARCH_BUDGET_MS when absent); a search past it gives up as at its cap on arrangements.
   */
  searchBudgetMs?: number;
  /**
   * The exact fallback's solver budget per attempt, shared by its re-plans (DEFAULT_EXACT_TIME_LIMIT_MS when
   * absent).
   */
  exactTimeLimitMs?: number;
  /** The exact fallback's solver; HiGHS when absent (tests script it). */
  exactSolver?: ExactSolver;
  logger: Logger;
  now?: () => number;
}

export type ProcessOutcome =
  | {
    outcome: "confirmed";
    mode: string;
    strategy: string;
    tables: string[];
    replans: number;
    durationMs: number;
  }
  | { outcome: "retry" | "rate_limited" | "circuit_open"; delayMs: number; reason?: string }
  | { outcome: "manual_review"; reason: string }
  | { outcome: "noop" | "busy" | "lease_lost"; reason?: string };

const SOURCE = "assignment.coordinator";
/**
 * The bounded search's time per attempt. Its 4,000 arrangements can take most of a second in a large room,
 * and an attempt that loses races searches again on every re-plan: without a shared deadline four searches
 * beside the exact fallback's second would take several times a hosted request's 2 s of CPU. 700 ms beside
 * the solver's 1000 leaves about 300 ms of that 2 s for parsing, building the model and loading HiGHS; the
 * quality benchmark's searches took at most 482 ms.
 */
export const DEFAULT_SEARCH_BUDGET_MS = 700;
/** How long an attempt waits for its turn at the instance's solver, in exact budgets: a drain's four workers
 * wait at most three budgets behind each other; past this, the attempt is tried again rather than holding its
 * lease while it waits. */
const EXACT_TURN_WAIT_BUDGETS = 4;
/** The legacy path's planner: the first implementation's first-fit. */
export const LEGACY_STRATEGY = "first_fit";

export async function processBooking(
  store: AssignmentStore,
  bookingId: string,
  trigger: string,
  options: CoordinatorOptions,
): Promise<ProcessOutcome> {
  const now = options.now ?? performance.now.bind(performance);
  const started = now();
  const log = options.logger;
  log.info(SOURCE, "processing booking", { booking_id: bookingId, trigger });

  const begun = await store.begin({
    bookingId,
    trigger,
    maxParallel: options.maxParallel,
    modeCeiling: options.modeCeiling,
  });
  switch (begun.outcome) {
    case "ready":
      break;
    case "rate_limited":
    case "circuit_open":
      log.info(SOURCE, `deferred: ${begun.outcome}`, { booking_id: bookingId, delay_ms: begun.delay_ms });
      return { outcome: begun.outcome, delayMs: begun.delay_ms };
    case "manual_review":
      log.warn(SOURCE, "escalated to manual review", {
        booking_id: bookingId,
        reason: reasonCode(begun.reason),
      });
      return { outcome: "manual_review", reason: begun.reason };
    default:
      return { outcome: begun.outcome, reason: begun.reason };
  }

  const lease = { bookingId, leaseToken: begun.lease_token };
  const elapsed = () => Math.max(0, now() - started);
  const { mode } = begun;
  const primaryStrategy = mode === "v3" ? options.strategy : LEGACY_STRATEGY;
  // From here on this attempt holds the lease: whatever goes wrong ends it through `fail`, in this request.
  // The shadow comparison of the latest plan goes with however the attempt ends, so a rollout's evidence does
  // not lose the attempts that ended in lost races or errors.
  let shadow: ShadowComparison | undefined;
  try {
    // Read in a transaction of its own, after the lease's has let go of the restaurant lock.
    const read = await store.snapshot(lease);
    if (read.outcome === "lease_lost") return { outcome: "lease_lost" };
    let snapshot = parseSnapshot(read.snapshot);
    // One budget for the attempt, not one per re-plan, for the search and for the solver: after lost races
    // each gets what is left, so an attempt's engine time stays within the two (by default 0.7 s of search,
    // 1 s of solver) however many races it loses, where each re-plan used to start both afresh.
    const searchDeadline = performance.now() + (options.searchBudgetMs ?? DEFAULT_SEARCH_BUDGET_MS);
    const exactBudgetOfAttemptMs = options.exactTimeLimitMs ?? DEFAULT_EXACT_TIME_LIMIT_MS;
    let exactBudgetMs = exactBudgetOfAttemptMs;
    for (let replans = 0;; replans++) {
      const planStarted = now();
      // Only the V3 path re-optimises; legacy keeps the first implementation's behaviour.
      const maxMoves = mode === "v3" ? options.reoptimizeMaxMoves ?? DEFAULT_MAX_MOVES : 0;
      let { plan, moves, explored } = runEngine(() =>
        planWithMoves(snapshot, { strategy: primaryStrategy, maxMoves, deadline: searchDeadline })
      );
      // Manual review only when no re-seating at all makes room: the exact fallback decides, or says it
      // could not decide in its budget (a reason of its own). A party not even the empty room seats needs
      // no search to know.
      let exact: (ExactOutcome & { ms: number }) | undefined;
      // An exact search that decided nothing for want of time the attempt did not have is no verdict on the
      // booking: it waited too long for its turn at the solver, or ran out of what lost races left of the
      // attempt's budget. The attempt then ends as a conflict, tried again with a whole budget, with the exact
      // search's reason (so a review it may end in still offers other times).
      let notAVerdict: string | undefined;
      if (plan.decision === "no_fit" && !plan.emptyRoomCannotSeat && snapshot.placed && maxMoves > 0) {
        const exactOptions: ExactOptions = {
          strategy: plan.strategy,
          noFitReason: plan.reason,
          timeLimitMs: exactBudgetMs,
          solver: options.exactSolver,
          neighbourhoods: NEIGHBOURHOODS_MS,
        };
        // Timed from the start of its turn: the solves of other attempts before it are not its own.
        const givenMs = exactBudgetMs;
        const waitMs = EXACT_TURN_WAIT_BUDGETS * exactBudgetOfAttemptMs;
        let exactStarted = now();
        const outcome = await inExactTurn(() => {
          exactStarted = now();
          return planExactly(snapshot, exactOptions).catch((error) => {
            throw engineError(error);
          });
        }, waitMs);
        if (outcome === undefined) {
          notAVerdict = `exact_search_budget_exhausted: ${
            reasonSentence(plan.reason)
          }; the exact search waited over ${waitMs} ms for this instance's solver, busy with other bookings, so it is tried again`;
        } else {
          exact = { ...outcome, ms: now() - exactStarted };
          // Loading HiGHS on a cold instance is not the attempt's budget either.
          exactBudgetMs = Math.max(0, Math.floor(exactBudgetMs - (exact.ms - (exact.solverLoadMs ?? 0))));
          ({ plan, moves } = exact);
          if (exact.solverError !== undefined) {
            log.error(SOURCE, `exact fallback's solver failed: ${exact.solverError}`, {
              booking_id: bookingId,
            });
            // A fault of the solver (HiGHS did not load, or a run failed) says nothing about the room: the
            // booking's first attempt is tried again, perhaps on another instance or with HiGHS loaded afresh,
            // rather than sent to review on a fault that may pass. A later one goes to review as before, with
            // the times it could have instead, so a solver that cannot load anywhere delays review by one
            // backoff only. Neither is an error for the breaker: the pipeline answered, only its solver did not.
            if (begun.attempt === 1 && plan.decision === "no_fit") {
              notAVerdict = `${plan.reason}; a fault, not a verdict, so it is tried again`;
            }
          } else if (
            plan.decision === "no_fit" && moreTimeMayDecide(exact) && givenMs < exactBudgetOfAttemptMs
          ) {
            notAVerdict = `${plan.reason}; that was what ${replans} lost race${
              replans === 1 ? "" : "s"
            } left of the attempt's ${exactBudgetOfAttemptMs} ms, so it is tried again`;
          }
        }
      }
      const exactDetails = exact
        ? { exact: { verdict: exact.verdict, movable: exact.movable, proven: exact.proven, ms: exact.ms } }
        : {};
      if (mode === "shadow") {
        // V3 as it would run, re-seating others where the restaurant allows it (the exact fallback left
        // out); legacy, the A/A candidate, never moves anyone.
        shadow = begun.shadow_candidate === "aa"
          ? compareWithCandidate(snapshot, plan, now() - planStarted, LEGACY_STRATEGY, "aa", now)
          : compareWithCandidate(snapshot, plan, now() - planStarted, options.strategy, "v3", now, {
            maxMoves: options.reoptimizeMaxMoves ?? DEFAULT_MAX_MOVES,
            deadline: searchDeadline,
          });
      }
      if (plan.decision === "no_fit") {
        return settle(
          await store.fail({
            ...lease,
            kind: notAVerdict === undefined ? "no_fit" : "conflict",
            reason: notAVerdict ?? plan.reason,
            durationMs: elapsed(),
            details: {
              strategy: plan.strategy,
              replans,
              mode,
              ...(explored ? { reoptimize_explored: explored } : {}),
              ...exactDetails,
            },
            shadow,
          }),
        );
      }
      log.info("assignment.engine", `strategy: ${plan.strategy}, score: ${plan.score.toFixed(2)}`, {
        booking_id: bookingId,
        tables: plan.tableNumbers,
        candidates: plan.candidates,
        moved_bookings: moves.length,
        ...(exact ? { exact_ms: Math.round(exact.ms) } : {}),
      });
      const committed = await store.commit({
        ...lease,
        tableIds: plan.tableIds,
        strategy: plan.strategy,
        durationMs: elapsed(),
        metadata: {
          score: plan.score,
          slack: plan.slack,
          candidates: plan.candidates,
          replans,
          mode,
          ...exactDetails,
        },
        shadow,
        moves: seenAsPlanned(moves, snapshot),
      });
      if (committed.outcome === "confirmed") {
        log.info(SOURCE, "confirmed", { booking_id: bookingId, mode, strategy: plan.strategy, replans });
        return {
          outcome: "confirmed",
          mode,
          strategy: plan.strategy,
          tables: plan.tableNumbers,
          replans,
          durationMs: elapsed(),
        };
      }
      if (committed.outcome === "lease_lost") return { outcome: "lease_lost" };
      // A conflict is a lost race for tables, or the booking or its floor plan changed after the snapshot
      // was taken (`rule_changed: …`): either way a re-plan on the fresh snapshot, never a breaker error.
      const ruleChanged = committed.reason?.startsWith("rule_changed:") ?? false;
      if (replans >= options.maxReplans || committed.snapshot === undefined || committed.snapshot === null) {
        return settle(
          await store.fail({
            ...lease,
            kind: "conflict",
            reason: ruleChanged
              ? committed.reason!
              : `conflict: lost ${replans + 1} races for tables${
                committed.busy_tables?.length
                  ? ` (${committed.busy_tables.join(", ")})`
                  : committed.reason
                  ? `: ${committed.reason}`
                  : ""
              }`,
            durationMs: elapsed(),
            details: { replans },
            shadow,
          }),
        );
      }
      log.info(
        SOURCE,
        ruleChanged ? "the rules changed since the snapshot; re-planning" : "commit lost a race; re-planning",
        {
          booking_id: bookingId,
          replans: replans + 1,
          ...(ruleChanged ? { reason: reasonCode(committed.reason!) } : {}),
        },
      );
      snapshot = parseSnapshot(committed.snapshot);
    }
  } catch (error) {
    // Anything unexpected ends the attempt here; Postgres schedules the retry. An engine bug (an exception,
    // or a plan that breaks a rule on the very snapshot it was given: a rule that changed since is a
    // conflict, above) and an infrastructure failure (a dropped connection, a timeout) are errors for the
    // restaurant's breaker. A snapshot that does not parse belongs to this booking's data: invalid_data,
    // retried the same way but not counted, so one odd row cannot pause the restaurant. If even `fail`
    // fails, the lease expires and the sweeper takes over.
    // A race Postgres resolved by aborting this attempt's statement (a deadlock with another writer, a
    // serialization failure, a table deleted under the commit, or a lock held by another caller for longer than
    // the RPC waits) is a conflict: retried the same way, but not the restaurant's pipeline failing, so not
    // counted by its breaker.
    const raced = error instanceof StoreError && RACES.has(error.code);
    const message = error instanceof AttemptError
      ? `${error.code}: ${error.message}`
      : error instanceof StoreError && error.code === SQLSTATE.planBreaksRule
      ? `engine_error: ${error.message}`
      : raced
      ? `conflict: ${(error as StoreError).message}`
      : `error: ${error instanceof Error ? error.message : String(error)}`;
    log.error(SOURCE, scrub(message), { booking_id: bookingId });
    return settle(
      await store.fail({
        ...lease,
        kind: error instanceof AttemptError && error.code === "invalid_snapshot"
          ? "invalid_data"
          : raced
          ? "conflict"
          : "error",
        reason: scrubAndCut(message, 400),
        durationMs: elapsed(),
        details: {},
        shadow,
      }),
    );
  }

  function settle(result: Awaited<ReturnType<AssignmentStore["fail"]>>): ProcessOutcome {
    if (result.outcome === "retry") {
      log.warn(SOURCE, "retry scheduled", {
        booking_id: bookingId,
        reason: reasonCode(result.reason),
        delay_ms: result.delay_ms,
      });
      return { outcome: "retry", delayMs: result.delay_ms, reason: result.reason };
    }
    if (result.outcome === "manual_review") {
      log.warn(SOURCE, "escalated to manual review", {
        booking_id: bookingId,
        reason: reasonCode(result.reason),
      });
      return { outcome: "manual_review", reason: result.reason };
    }
    return { outcome: "lease_lost" };
  }
}

/**
 * SQLSTATEs of a race Postgres ended: deadlock_detected, serialization_failure, foreign_key_violation,
 * lock_not_available (the RPC's lock_timeout).
 */
const RACES = new Set(["40P01", "40001", "23503", "55P03"]);

/** An attempt that cannot go on, with the reason code it ends under. */
class AttemptError extends Error {
  constructor(readonly code: "invalid_snapshot" | "engine_error", message: string) {
    super(message);
  }
}

/** The snapshot Postgres returned, as the engine reads it; one that does not parse names what is wrong. */
function parseSnapshot(raw: unknown): Snapshot {
  const parsed = snapshotSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.slice(0, 3).map((i) =>
    `${i.path.join(".") || "snapshot"}: ${i.message}`
  );
  throw new AttemptError("invalid_snapshot", `the snapshot does not parse (${issues.join("; ")})`);
}

/** Runs the engine; an exception in it is the engine's, whatever it was. */
function runEngine<T>(plan: () => T): T {
  try {
    return plan();
  } catch (error) {
    throw engineError(error);
  }
}

/** An exception the engine threw (the plan's or the exact fallback's): an engine bug, reported as one. */
function engineError(error: unknown): AttemptError {
  return new AttemptError("engine_error", error instanceof Error ? error.message : String(error));
}

/** The machine-readable part of a "<code>: <sentence>" reason, for the logs; a reason that does not start with
 * a code (an operator's words, which may name someone) is logged as "uncoded", never as written. */
function reasonCode(reason: string): string {
  const head = reason.split(":")[0];
  return /^[a-z][a-z0-9_]{0,63}$/.test(head) ? head : "uncoded";
}

/** Each move with the booking as the snapshot showed it, which the commit checks it still is. */
function seenAsPlanned(moves: readonly Move[], snapshot: Snapshot): readonly Move[] {
  if (moves.length === 0) return moves;
  const placed = new Map(snapshot.placed?.map((p) => [p.id, p]));
  return moves.map((m) => {
    const p = placed.get(m.bookingId);
    return p
      ? { ...m, seen: { windowStart: p.windowStart, windowEnd: p.windowEnd, partySize: p.partySize } }
      : m;
  });
}
