// Deliver due notifications from the outbox: claim under a lease, send, record the result. A crash
// between send and record lets the lease expire and the row is sent again with the same idempotency key.
import type { AssignmentStore } from "../store/port.ts";
import type { Logger } from "../telemetry/log.ts";
import type { Sender } from "./senders.ts";

export interface DeliveryReport {
  claimed: number;
  sent: number;
  failed: number;
}

export async function deliverDueNotifications(
  store: AssignmentStore,
  sender: Sender,
  logger: Logger,
  limit = 50,
): Promise<DeliveryReport> {
  const claimed = await store.claimNotifications({ limit, leaseMs: 60_000 });
  const report = { claimed: claimed.length, sent: 0, failed: 0 };
  await Promise.all(claimed.map(async (n) => {
    try {
      await sender.send(n);
      await store.completeNotification({ id: n.id, ok: true });
      report.sent++;
    } catch (error) {
      report.failed++;
      const message = error instanceof Error ? error.message : String(error);
      logger.warn("notifications", `send failed: ${message}`, { booking_id: n.booking_id, kind: n.kind });
      await store.completeNotification({ id: n.id, ok: false, error: message });
    }
  }));
  return report;
}
