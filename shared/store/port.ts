// The coordinator's only way to reach Postgres. Each method is one RPC, i.e. one transaction, so every
// lock it takes is transaction-scoped and the port is safe behind a transaction-mode pooler. An attempt
// starts with two: the lease (under the restaurant lock), then its snapshot (no lock), so the lock is not
// held while the snapshot is built.
import type { Move } from "../domain/move.ts";
import type {
  ClaimedNotification,
  CommitResult,
  FailResult,
  LeaseResult,
  ReseatingProbesResult,
  SnapshotResult,
} from "./results.ts";

/**
 * How an attempt ended without tables. `error` (infrastructure or engine) counts toward the restaurant's
 * circuit breaker; `invalid_data` (this booking's snapshot does not parse) is retried the same way but does
 * not, so one odd row cannot pause the restaurant.
 */
export type FailureKind = "no_fit" | "conflict" | "error" | "invalid_data";

export interface BeginArgs {
  bookingId: string;
  trigger: string;
  /** This instance's FEATURE_ASSIGNMENT_PIPELINE_V3_MAX_PARALLEL; lowers the database limit, never raises it. */
  maxParallel?: number;
  /** The highest mode this deployment's feature flags allow; null lets the database decide alone. */
  modeCeiling?: ModeCeiling;
}

export type ModeCeiling = "legacy" | "shadow" | null;

/** What shadow mode stores: the primary's decision and the candidate's, on the same snapshot. */
export interface ShadowComparison {
  experiment: "v3" | "aa";
  primary_strategy: string;
  candidate_strategy: string;
  primary_decision: "assign" | "escalate";
  candidate_decision: "assign" | "escalate" | "error";
  primary_tables: string[];
  candidate_tables: string[];
  score_diff: number | null;
  primary_ms: number;
  candidate_ms: number;
  candidate_error: string | null;
}

export interface CommitArgs {
  bookingId: string;
  leaseToken: string;
  tableIds: string[];
  strategy: string;
  durationMs: number;
  metadata: Record<string, unknown>;
  shadow?: ShadowComparison;
  /** Re-optimisation (where ops turned it on): not-yet-seated bookings to move first, as the engine saw them. */
  moves?: readonly Move[];
}

/** The shape review_offer_reseating's p_offers takes. */
export function offersJson(offers: OfferReseatingArgs["offers"]) {
  return offers.map((o) => ({
    start_at: new Date(o.startAt).toISOString(),
    table_ids: [...o.tableIds],
    moves: movesJson(o.moves),
  }));
}

/** The shape review_offer_reseating's p_undecided takes. */
export function instantsJson(instants: readonly number[] = []) {
  return instants.map((t) => new Date(t).toISOString());
}

/** The shape assignment_commit's p_moves takes. */
export function movesJson(moves: readonly Move[]) {
  return moves.map((m) => ({
    booking_id: m.bookingId,
    from_table_ids: [...m.fromTableIds],
    to_table_ids: [...m.toTableIds],
    ...(m.seen
      ? {
        window_start: new Date(m.seen.windowStart).toISOString(),
        window_end: new Date(m.seen.windowEnd).toISOString(),
        party_size: m.seen.partySize,
      }
      : {}),
  }));
}

export interface FailArgs {
  bookingId: string;
  leaseToken: string;
  kind: FailureKind;
  reason: string;
  durationMs: number;
  details: Record<string, unknown>;
  shadow?: ShadowComparison;
}

/** What a re-seating search found for a booking in review (public.review_offer_reseating). */
export interface OfferReseatingArgs {
  bookingId: string;
  /** The review searched: review_reseating_probes' review. */
  review: string;
  offers: readonly { startAt: number; tableIds: readonly string[]; moves: readonly Move[] }[];
  /** Start times (ms) the search's budget left undecided: a later search of the review tries these alone. */
  undecided?: readonly number[];
  /** This search's number in the review (review_reseating_probes' search); 1 when absent. */
  search?: number;
}

export interface AssignmentStore {
  /** Takes the booking's lease (public.assignment_lease). */
  begin(args: BeginArgs): Promise<LeaseResult>;
  /** The snapshot to plan on under that lease (public.assignment_snapshot). */
  snapshot(args: { bookingId: string; leaseToken: string }): Promise<SnapshotResult>;
  commit(args: CommitArgs): Promise<CommitResult>;
  fail(args: FailArgs): Promise<FailResult>;
  claimDue(args: { limit: number; visibilityMs: number }): Promise<string[]>;
  /** Run the sweeper now: due bookings are dispatched, so fresh requests take over a claim loop that ends. */
  sweepNow(): Promise<void>;
  /** Bookings in review a re-seating search may help, of restaurants with nothing waiting. */
  reviewsToReseat(limit: number): Promise<string[]>;
  reseatingProbes(bookingId: string): Promise<ReseatingProbesResult>;
  /** "stale" when the booking left that review meanwhile (nothing stored). */
  offerReseating(args: OfferReseatingArgs): Promise<"stored" | "stale">;
  claimNotifications(args: { limit: number; leaseMs: number }): Promise<ClaimedNotification[]>;
  /** Record a send's result under the claim's lease; "lease_lost" when the row was claimed again since. A
   * permanent failure (the sender says the message can never go as it stands) is dead at once; one that may
   * have arrived (no answer) counts from then on as perhaps received. */
  completeNotification(args: CompleteNotificationArgs): Promise<string>;
  close(): Promise<void>;
}

export interface CompleteNotificationArgs {
  id: number;
  leaseToken: string;
  ok: boolean;
  error?: string;
  permanent?: boolean;
  mayHaveArrived?: boolean;
  /** The wait the provider asked for (Retry-After): the next try is no sooner. */
  retryAfterMs?: number;
  /** Handed back without being posted: no try is counted. */
  notSent?: boolean;
}

/**
 * public.notification_complete's arguments, by name. The optional ones only when set, so functions deployed
 * before the migration that added them still record results.
 */
export function notificationCompleteArgs(a: CompleteNotificationArgs) {
  return {
    p_id: a.id,
    p_lease_token: a.leaseToken,
    p_ok: a.ok,
    p_error: a.error,
    ...(a.permanent ? { p_permanent: true } : {}),
    ...(a.mayHaveArrived ? { p_may_have_arrived: true } : {}),
    ...(a.retryAfterMs !== undefined ? { p_retry_after_ms: a.retryAfterMs } : {}),
    ...(a.notSent ? { p_not_sent: true } : {}),
  };
}

/**
 * How long one RPC may take before the caller gives up on it: every pipeline RPC waits at most 5 s for a lock
 * and runs for milliseconds, so only a connection that died without closing (a pooler restart, a network
 * partition) gets near this. Without it one such call held its drain, and the instance's every later drain,
 * until the runtime recycled the instance. The call is abandoned, not cancelled: a statement still running
 * on the server finishes or gives up by itself.
 */
export const RPC_TIMEOUT_MS = 30_000;

/** An RPC that did not answer within its time: reported as SQLSTATE 57014 (query_canceled), an error. */
export function rpcTimedOut(name: string, ms: number): StoreError {
  return new StoreError("57014", `${name} did not answer within ${ms} ms; given up on`);
}

/** A database error the caller can act on: SQLSTATE plus a message meant for people. */
export class StoreError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = "StoreError";
  }
}
