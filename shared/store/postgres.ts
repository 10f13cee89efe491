// AssignmentStore over postgres.js: direct SQL to the pooler URL Supabase gives functions
// (SUPABASE_DB_URL). No prepared statements and no session state, as transaction pooling requires.
import { postgres } from "../deps.ts";
import type { Database, Json } from "../database.types.ts";
import { within } from "../http/within.ts";
import {
  claimResultSchema,
  commitResultSchema,
  failResultSchema,
  leaseResultSchema,
  offerReseatingResultSchema,
  parseClaimedNotifications,
  reseatingProbesSchema,
  snapshotResultSchema,
} from "./results.ts";
import {
  type AssignmentStore,
  instantsJson,
  movesJson,
  notificationCompleteArgs,
  offersJson,
  RPC_TIMEOUT_MS,
  rpcTimedOut,
  StoreError,
} from "./port.ts";

export function postgresStore(
  url: string,
  options: { max?: number; rpcTimeoutMs?: number } = {},
): AssignmentStore {
  const timeoutMs = options.rpcTimeoutMs ?? RPC_TIMEOUT_MS;
  const pool = () =>
    postgres(url, {
      prepare: false,
      max: options.max ?? 5,
      idle_timeout: 20,
      connect_timeout: 10,
      connection: { application_name: "assignment-coordinator" },
      onnotice: () => {},
    });
  let sql = pool();
  let closed = false;
  const retiring = new Set<Promise<void>>();

  /**
   * A pool one of whose calls was given up on is replaced by a fresh one. Its connection may have stopped
   * answering (a network fault or a restarted pooler leaves such a socket open and silent), and stays busy
   * with the call it will never answer, as may the pool's other connections: each call given up on would take
   * one more, until every call of the instance waited behind them. The old pool's other calls keep the time
   * they were given (at most the timeout), then it is closed.
   */
  function retire(given: postgres.Sql) {
    if (given !== sql || closed) return; // another call already retired it, or the port is closing
    sql = pool();
    const ending: Promise<void> = given.end({ timeout: Math.ceil(timeoutMs / 1000) })
      .catch(() => {})
      .finally(() => retiring.delete(ending));
    retiring.add(ending);
  }

  async function call<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof postgres.PostgresError) throw new StoreError(error.code, error.message);
      throw error;
    }
  }

  // Names and arguments are checked against the generated schema types (shared/database.types.ts), and
  // passed by name, `public.f(p_x => $1, …)`, as PostgREST passes them, so both ports call an RPC the same
  // way and an argument left out takes the function's default. postgres.js asks Postgres for each
  // parameter's type and encodes the value for it (JSON as jsonb, arrays as uuid[]), so no casts are needed.
  async function rows<F extends Rpc>(name: F, args: Args<F>): Promise<unknown[]> {
    const given = Object.entries(args).filter(([, value]) => value !== undefined);
    const list = given.map(([key], i) => `${key} => $${i + 1}`).join(", ");
    const values = given.map(([, value]) => value as postgres.SerializableParameter);
    const used = sql;
    return await call(() =>
      answeredInTime(name, used.unsafe(`select * from public.${name}(${list}) as r`, values), used)
    );
  }

  /**
   * The query's answer, or a timeout error once `timeoutMs` has passed. The query is abandoned, not cancelled:
   * postgres.js's cancel opens a connection of its own and drops that attempt's failure unhandled, which would
   * end the instance when the server cannot be reached, the very case this is for. A statement still running
   * ends by itself (the pipeline's RPCs wait at most 5 s for a lock) and its late result is refused by the
   * lease token. Its pool is retired (see retire()).
   */
  async function answeredInTime(
    name: string,
    query: postgres.PendingQuery<postgres.Row[]>,
    used: postgres.Sql,
  ) {
    const answer = await within(query, timeoutMs);
    if (answer === undefined) {
      retire(used);
      throw rpcTimedOut(name, timeoutMs);
    }
    return answer;
  }

  /** An RPC returning one value (jsonb, uuid[], text): the value. */
  async function rpc<F extends Rpc>(name: F, args: Args<F>): Promise<Returns<F>> {
    const [row] = await rows(name, args);
    return (row as { r: Returns<F> }).r;
  }

  return {
    begin: async ({ bookingId, trigger, maxParallel, modeCeiling }) =>
      leaseResultSchema.parse(
        await rpc("assignment_lease", {
          p_booking_id: bookingId,
          p_trigger: trigger,
          p_max_parallel: maxParallel,
          p_mode_ceiling: modeCeiling ?? undefined,
        }),
      ),
    snapshot: async ({ bookingId, leaseToken }) =>
      snapshotResultSchema.parse(
        await rpc("assignment_snapshot", { p_booking_id: bookingId, p_lease_token: leaseToken }),
      ),
    commit: async (a) =>
      commitResultSchema.parse(
        await rpc("assignment_commit", {
          p_booking_id: a.bookingId,
          p_lease_token: a.leaseToken,
          p_table_ids: a.tableIds,
          p_strategy: a.strategy,
          p_duration_ms: Math.round(a.durationMs),
          p_metadata: a.metadata as Json,
          p_shadow: a.shadow as Json | undefined,
          p_moves: a.moves?.length ? movesJson(a.moves) as Json : undefined,
        }),
      ),
    fail: async (a) =>
      failResultSchema.parse(
        await rpc("assignment_fail", {
          p_booking_id: a.bookingId,
          p_lease_token: a.leaseToken,
          p_kind: a.kind,
          p_reason: a.reason,
          p_duration_ms: Math.round(a.durationMs),
          p_details: a.details as Json,
          p_shadow: a.shadow as Json | undefined,
        }),
      ),
    claimDue: async ({ limit, visibilityMs }) =>
      claimResultSchema.parse(
        await rpc("assignment_claim_due", { p_limit: limit, p_visibility_ms: visibilityMs }),
      ),
    sweepNow: async () => {
      await rpc("assignment_sweep_now", {});
    },
    reviewsToReseat: async (limit) =>
      claimResultSchema.parse(await rpc("review_reseating_due", { p_limit: limit })),
    reseatingProbes: async (bookingId) =>
      reseatingProbesSchema.parse(await rpc("review_reseating_probes", { p_booking_id: bookingId })),
    offerReseating: async ({ bookingId, review, offers, undecided, search }) =>
      offerReseatingResultSchema.parse(
        await rpc("review_offer_reseating", {
          p_booking_id: bookingId,
          p_review: review,
          p_offers: offersJson(offers) as Json,
          p_undecided: instantsJson(undecided),
          p_search: search,
        }),
      ),
    // A set-returning function: one row per claimed notification.
    claimNotifications: async ({ limit, leaseMs }) =>
      await parseClaimedNotifications(
        await rows("notification_claim", { p_limit: limit, p_lease_ms: leaseMs }),
        (id, leaseToken, error) =>
          rpc("notification_complete", notificationCompleteArgs({ id, leaseToken, ok: false, error })),
      ),
    completeNotification: async (args) =>
      String(await rpc("notification_complete", notificationCompleteArgs(args))),
    close: async () => {
      closed = true;
      await Promise.all([sql.end({ timeout: 5 }), ...retiring]);
    },
  };
}

type Functions = Database["public"]["Functions"];
type Rpc = keyof Functions;
type Args<F extends Rpc> = Functions[F]["Args"];
type Returns<F extends Rpc> = Functions[F]["Returns"];
