// What the pipeline RPCs return, parsed with zod so a drift between SQL and TypeScript fails loudly.
import { z } from "../deps.ts";
import { idSchema } from "../domain/id.ts";
import { instantSchema } from "../domain/snapshot.ts";

const delay = { delay_ms: z.number().int().nonnegative() };

const leaseTaken = z.object({
  outcome: z.literal("ready"),
  lease_token: idSchema(),
  attempt: z.number().int().positive(),
  mode: z.enum(["legacy", "shadow", "v3"]),
  shadow_candidate: z.enum(["v3", "aa"]),
  // Wall-clock waits: a step of the server's clock back while one was measured makes it negative, and a lease
  // already taken must not be refused for it (it would be left to run out). Nothing here reads them.
  lock_wait_ms: z.number(),
  slot_wait_ms: z.number(),
});
const noLease = [
  z.object({ outcome: z.literal("noop"), reason: z.string(), state: z.string().optional() }),
  z.object({ outcome: z.literal("busy"), reason: z.string() }),
  z.object({ outcome: z.literal("manual_review"), reason: z.string() }),
  z.object({ outcome: z.literal("circuit_open"), ...delay }),
  z.object({ outcome: z.literal("rate_limited"), ...delay }),
] as const;

/** assignment_lease's answer. */
export const leaseResultSchema = z.discriminatedUnion("outcome", [leaseTaken, ...noLease]);

/** assignment_snapshot's answer. The snapshot is parsed by the coordinator (domain/snapshot.ts), under the
 * lease: one that does not parse must end the attempt through assignment_fail, not leave the lease to expire. */
export const snapshotResultSchema = z.discriminatedUnion("outcome", [
  z.object({ outcome: z.literal("ready"), snapshot: z.unknown() }),
  z.object({ outcome: z.literal("lease_lost") }),
]);

export const commitResultSchema = z.discriminatedUnion("outcome", [
  z.object({ outcome: z.literal("confirmed"), version: z.number().int(), lock_wait_ms: z.number() }),
  z.object({
    outcome: z.literal("conflict"),
    busy_tables: z.array(z.string()).optional(),
    // Why, when it is not a lost race for tables: `rule_changed: …` (the booking or its floor plan changed
    // after the snapshot was taken) or a booking to move that changed.
    reason: z.string().optional(),
    snapshot: z.unknown().optional(),
  }),
  z.object({ outcome: z.literal("lease_lost") }),
]);

export const failResultSchema = z.discriminatedUnion("outcome", [
  z.object({ outcome: z.literal("retry"), reason: z.string(), ...delay }),
  z.object({ outcome: z.literal("manual_review"), reason: z.string() }),
  z.object({ outcome: z.literal("lease_lost") }),
]);

export const claimResultSchema = z.array(idSchema());

export const reseatingProbesSchema = z.discriminatedUnion("outcome", [
  z.object({
    outcome: z.literal("ready"),
    // What the search is for; review_offer_reseating stores the offers only while it still holds.
    review: z.string(),
    // This search's number in the review (1 for the first): review_offer_reseating stores each search once.
    search: z.number().int().min(1),
    // Parsed by the search (domain/snapshot.ts), as assignment_begin's.
    snapshot: z.unknown(),
    probes: z.array(
      z.object({
        start_at: instantSchema("start"),
        offset_minutes: z.number().int(),
        window_start: instantSchema("start"),
        window_end: instantSchema("end"),
      }).transform((p) => ({
        startAt: p.start_at,
        offsetMinutes: p.offset_minutes,
        windowStart: p.window_start,
        windowEnd: p.window_end,
      })),
    ),
  }),
  z.object({ outcome: z.literal("skip"), reason: z.string() }),
]);
export type ReseatingProbesResult = z.output<typeof reseatingProbesSchema>;

export const offerReseatingResultSchema = z.object({ outcome: z.enum(["stored", "stale"]) }).transform((r) =>
  r.outcome
);

export const notificationSchema = z.object({
  id: z.coerce.number().int(),
  lease_token: idSchema(),
  booking_id: idSchema(),
  kind: z.enum(["booking_confirmed", "booking_changed", "booking_cancelled"]),
  dedupe_key: z.string(),
  payload: z.record(z.string(), z.unknown()),
  attempts: z.number().int(),
  recipient_email: z.string().nullable(),
  recipient_name: z.string().nullable(),
});

/**
 * The claimed rows that parse. A row that does not (SQL and TypeScript out of step, say) is recorded as a
 * failed send under its claim, so it goes on to `dead` on its own instead of failing its whole batch at
 * every claim; a row without even an id and lease token, or whose failure cannot be recorded, is left to its
 * lease.
 */
export async function parseClaimedNotifications(
  rows: unknown[],
  fail: (id: number, leaseToken: string, error: string) => Promise<unknown>,
): Promise<ClaimedNotification[]> {
  const parsed: ClaimedNotification[] = [];
  for (const row of rows) {
    const result = notificationSchema.safeParse(row);
    if (result.success) {
      parsed.push(result.data);
      continue;
    }
    const lease = claimedLeaseSchema.safeParse(row);
    if (lease.success) {
      const what = result.error.issues.slice(0, 3).map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
      // Not recorded (the database did not answer): left to its lease like the row below, rather than
      // failing the batch and leaving every row that parsed unsent until their leases run out too.
      await fail(lease.data.id, lease.data.lease_token, `the claimed row does not parse (${what})`)
        .catch(() => undefined);
    }
  }
  return parsed;
}
const claimedLeaseSchema = z.object({ id: z.coerce.number().int(), lease_token: idSchema() });

export type LeaseResult = z.output<typeof leaseResultSchema>;
export type SnapshotResult = z.output<typeof snapshotResultSchema>;
export type CommitResult = z.output<typeof commitResultSchema>;
export type FailResult = z.output<typeof failResultSchema>;
export type ClaimedNotification = z.output<typeof notificationSchema>;
