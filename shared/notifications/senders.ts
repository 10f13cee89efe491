// Where confirmations go. Every sender receives the outbox dedupe key as an idempotency key, so a
// provider that honours it (most e-mail APIs do) never delivers the same notification twice.
import type { SenderSetting } from "../config/env.ts";
import type { ClaimedNotification } from "../store/results.ts";

export interface Sender {
  readonly name: string;
  send(notification: ClaimedNotification): Promise<void>;
}

/** A send that can never succeed as the message stands (no address, or the provider refused the message
 * itself): the outbox marks it dead at once instead of asking again for hours. Anything else thrown is
 * retried with backoff. */
export class PermanentSendError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PermanentSendError";
  }
}

/** Whether there is an address to send to: blank (only the ASCII white space the database's
 * private.has_address trims) is none, as there. */
export function hasAddress(email: string | null | undefined): boolean {
  return /[^ \t\n\r\f\v]/.test(email ?? "");
}

/** Answers that refuse the message itself, so the same request would be refused again. A problem of the
 * setup (401, 403, 404: a wrong token or url) or of the moment (408, 429, 5xx) is retried: fixing it sends
 * those messages without anyone's help. */
const REFUSALS = new Set([400, 413, 422]);

/** Local sink: appends one JSON line per send to a file the tests read: the message as the guest would get
 * it, without the recipient (no personal data is written). */
export function fileSinkSender(path: string): Sender {
  return {
    name: "sink",
    async send(n) {
      const line = JSON.stringify({
        idempotency_key: n.dedupe_key,
        booking_id: n.booking_id,
        kind: n.kind,
        booking: n.payload,
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

/**
 * POSTs the notification to a webhook (an e-mail service or the platform's mailer) with an Idempotency-Key.
 * A request that fails says why (fetch keeps that in the error's cause), naming the webhook "[webhook url]":
 * the cause quotes the address, which may carry a key, and the error is logged and kept in the outbox.
 * A guest without an e-mail address is not posted at all, and a refusal of the message (REFUSALS) is
 * permanent.
 */
export function webhookSender(url: string, token?: string): Sender {
  const unquoted = (message: string) =>
    [url, new URL(url).href].reduce((text, address) => text.replaceAll(address, "[webhook url]"), message)
      .replace(/\bhttps?:\/\/[^\s)]+/g, "[webhook url]");
  return {
    name: "webhook",
    async send(n) {
      if (!hasAddress(n.recipient_email)) {
        throw new PermanentSendError("no e-mail address: the booking has none to send to");
      }
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
      }).catch((error) => {
        const why = [error, error?.cause].filter((e) => e instanceof Error).map((e) => e.message).join(": ");
        throw new Error(`webhook request failed: ${unquoted(why || String(error))}`);
      });
      await response.body?.cancel();
      if (REFUSALS.has(response.status)) {
        throw new PermanentSendError(`webhook refused the message (${response.status})`);
      }
      if (!response.ok) throw new Error(`webhook answered ${response.status}`);
    },
  };
}

/** The sender a setting names (see config/env.ts); null when NOTIFICATION_SENDER cannot be used. */
export function createSender(setting: SenderSetting): Sender | null {
  switch (setting.kind) {
    case "sink":
      return fileSinkSender(setting.file);
    case "webhook":
      return webhookSender(setting.url, setting.token);
    case "log":
      return logSender();
    case "unusable":
      return null;
  }
}
