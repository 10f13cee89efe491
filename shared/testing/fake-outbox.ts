// A fake outbox for the dispatcher's tests: `count` due rows; each claim hands out a fresh lease token, as
// notification_claim does, and each completion is recorded and answered by `answer` (sent or pending by
// default). Every other store call is refused.
import type { AssignmentStore, CompleteNotificationArgs } from "../store/port.ts";
import type { ClaimedNotification } from "../store/results.ts";

export function fakeOutbox(
  count: number,
  answer: (c: CompleteNotificationArgs) => string = (c) => c.ok ? "sent" : "pending",
) {
  const rows = Array.from({ length: count }, (_, i) => ({ id: i + 1, status: "pending", attempts: 0 }));
  const completions: CompleteNotificationArgs[] = [];
  let leases = 0;
  const store: AssignmentStore = {
    begin: () => Promise.reject(new Error("unexpected")),
    snapshot: () => Promise.reject(new Error("unexpected")),
    commit: () => Promise.reject(new Error("unexpected")),
    fail: () => Promise.reject(new Error("unexpected")),
    claimDue: () => Promise.reject(new Error("unexpected")),
    sweepNow: () => Promise.reject(new Error("unexpected")),
    reviewsToReseat: () => Promise.reject(new Error("unexpected")),
    reseatingProbes: () => Promise.reject(new Error("unexpected")),
    offerReseating: () => Promise.reject(new Error("unexpected")),
    claimNotifications: ({ limit }) => {
      const due = rows.filter((r) => r.status === "pending").slice(0, limit);
      return Promise.resolve(due.map((r): ClaimedNotification => {
        r.status = "sending";
        r.attempts++;
        return {
          id: r.id,
          lease_token: `00000000-0000-4000-8000-${String(++leases).padStart(12, "0")}`,
          booking_id: `20000000-0000-4000-8000-${String(r.id).padStart(12, "0")}`,
          kind: "booking_confirmed",
          dedupe_key: `booking-${r.id}:booking_confirmed`,
          payload: {},
          attempts: r.attempts,
          recipient_email: "ada@example.com",
          recipient_name: "Ada Lovelace",
        };
      }));
    },
    completeNotification: (c) => {
      completions.push(c);
      let status: string;
      try {
        status = answer(c);
      } catch (error) {
        return Promise.reject(error);
      }
      const row = rows.find((r) => r.id === c.id)!;
      if (status !== "lease_lost") row.status = status;
      return Promise.resolve(status);
    },
    close: () => Promise.resolve(),
  };
  return { store, rows, completions };
}
