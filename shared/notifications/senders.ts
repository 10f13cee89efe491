// Where confirmations go. Every sender receives the outbox dedupe key as an idempotency key, so a
// provider that honours it (most e-mail APIs do) never delivers the same notification twice.
import type { ClaimedNotification } from "../store/results.ts";

export interface Sender {
  readonly name: string;
  send(notification: ClaimedNotification): Promise<void>;
}

/** Local sink: appends one JSON line per send to a file the tests read. No personal data is written. */
export function fileSinkSender(path: string): Sender {
  return {
    name: "sink",
    async send(n) {
      const line = JSON.stringify({
        idempotency_key: n.dedupe_key,
        booking_id: n.booking_id,
        kind: n.kind,
        has_recipient: Boolean(n.recipient_email),
        sent_at: new Date().toISOString(),
      });
      await Deno.writeTextFile(path, line + "\n", { append: true });
    },
  };
}

/** Logs that a notification would be sent (ids only). For environments with no provider yet. */
export function logSender(write: (line: string) => void = console.log): Sender {
  return {
    name: "log",
    send(n) {
      write(
        JSON.stringify({ source: "notifications", message: "send", booking_id: n.booking_id, kind: n.kind }),
      );
      return Promise.resolve();
    },
  };
}

/** POSTs the notification to a webhook (an e-mail service or the platform's mailer) with an Idempotency-Key. */
export function webhookSender(url: string, token?: string): Sender {
  return {
    name: "webhook",
    async send(n) {
      const response = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "idempotency-key": n.dedupe_key,
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({
          kind: n.kind,
          booking_id: n.booking_id,
          to: { email: n.recipient_email, name: n.recipient_name },
          booking: n.payload,
        }),
        signal: AbortSignal.timeout(10_000),
      });
      await response.body?.cancel();
      if (!response.ok) throw new Error(`webhook answered ${response.status}`);
    },
  };
}

export function senderFromEnv(env: Record<string, string | undefined>): Sender {
  switch (env.NOTIFICATION_SENDER ?? "log") {
    case "sink":
      if (!env.NOTIFICATION_SINK_FILE) {
        throw new Error("NOTIFICATION_SENDER=sink needs NOTIFICATION_SINK_FILE");
      }
      return fileSinkSender(env.NOTIFICATION_SINK_FILE);
    case "webhook":
      if (!env.NOTIFICATION_WEBHOOK_URL) {
        throw new Error("NOTIFICATION_SENDER=webhook needs NOTIFICATION_WEBHOOK_URL");
      }
      return webhookSender(env.NOTIFICATION_WEBHOOK_URL, env.NOTIFICATION_WEBHOOK_TOKEN);
    case "log":
      return logSender();
    default:
      throw new Error(`NOTIFICATION_SENDER must be sink, webhook or log, not "${env.NOTIFICATION_SENDER}"`);
  }
}
