// AssignmentStore over supabase-js: the same RPCs through PostgREST (`POST /rest/v1/rpc/<name>` with
// named arguments), for deployments that give the function an API URL and service key but no database URL.
import { createClient, type SupabaseClient } from "../deps.ts";
import type { Database, Json } from "../database.types.ts";
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

export function supabaseRestStore(
  url: string,
  serviceRoleKey: string,
  options: { fetch?: typeof fetch; rpcTimeoutMs?: number } = {},
): AssignmentStore {
  const timeoutMs = options.rpcTimeoutMs ?? RPC_TIMEOUT_MS;
  const client: SupabaseClient<Database> = createClient<Database>(url, serviceRoleKey, {
    auth: { persistSession: false, autoRefreshToken: false },
    global: options.fetch ? { fetch: options.fetch } : undefined,
  });

  // Names and arguments are checked against the generated schema types (shared/database.types.ts).
  type Rpc = keyof Database["public"]["Functions"];
  async function rpc<F extends Rpc>(
    name: F,
    args: Database["public"]["Functions"][F]["Args"],
  ): Promise<unknown> {
    // A request given up on is abandoned: PostgREST does not cancel the statement when the client goes, so it
    // may still finish (a late result is refused by the lease token).
    const signal = AbortSignal.timeout(timeoutMs);
    const { data, error } = await client.rpc(name, args).abortSignal(signal);
    if (error) {
      throw signal.aborted && !error.code
        ? rpcTimedOut(name, timeoutMs)
        : new StoreError(error.code ?? "PGRST", error.message);
    }
    return data;
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
    claimNotifications: async ({ limit, leaseMs }) => {
      const rows = await rpc("notification_claim", { p_limit: limit, p_lease_ms: leaseMs });
      return await parseClaimedNotifications(
        rows as unknown[],
        (id, leaseToken, error) =>
          rpc("notification_complete", notificationCompleteArgs({ id, leaseToken, ok: false, error })),
      );
    },
    completeNotification: async (args) =>
      String(await rpc("notification_complete", notificationCompleteArgs(args))),
    close: () => Promise.resolve(),
  };
}
