// Deliver due notifications from the outbox: claim under a lease, send, record the result. A crash
// between send and record lets the lease expire and the row is sent again with the same idempotency key.
// A result is recorded under the claim's lease token: if this dispatcher stalled past its lease and
// another one claimed the row meanwhile, Postgres answers "lease_lost" and the other one's result counts.
import type { AssignmentStore } from "../store/port.ts";
import type { Logger } from "../telemetry/log.ts";
import type { Sender } from "./senders.ts";

export interface DeliveryReport {
  claimed: number;
  sent: number;
  failed: number;
  /** Sends whose result was not recorded because the row had been claimed again (lease expired). */
  leaseLost: number;
}

export async function deliverDueNotifications(
  store: AssignmentStore,
  sender: Sender,
  logger: Logger,
  limit = 50,
): Promise<DeliveryReport> {
  const claimed = await store.claimNotifications({ limit, leaseMs: 60_000 });
  const report = { claimed: claimed.length, sent: 0, failed: 0, leaseLost: 0 };
  await Promise.all(claimed.map(async (n) => {
    const lease = { id: n.id, leaseToken: n.lease_token };
    let outcome: string;
    try {
      await sender.send(n);
      outcome = await store.completeNotification({ ...lease, ok: true });
      if (outcome !== "lease_lost") report.sent++;
    } catch (error) {
      report.failed++;
      const message = error instanceof Error ? error.message : String(error);
      logger.warn("notifications", `send failed: ${message}`, { booking_id: n.booking_id, kind: n.kind });
      outcome = await store.completeNotification({ ...lease, ok: false, error: message });
    }
    if (outcome === "lease_lost") {
      report.leaseLost++;
      logger.warn("notifications", "lease lost: the notification was claimed again; its holder records it", {
        booking_id: n.booking_id,
        kind: n.kind,
      });
    }
  }));
  return report;
}
