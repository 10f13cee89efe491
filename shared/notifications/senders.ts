// Where confirmations go. Every sender receives the outbox dedupe key as its idempotency key (the webhook
// adds a digest of the recipient), so a provider that honours it (most e-mail APIs do) never delivers the
// same notification twice.
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

/** A send that got no answer: the provider may have taken the message (a timeout, a connection lost once the
 * request was out, a 5xx other than 503). Retried like any failure, but from then on the guest counts as
 * perhaps having it, so a cancellation or a change is owed to them. */
export class UncertainSendError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UncertainSendError";
  }
}

/** The provider asked to be tried again no sooner than `retryAfterMs` from now (a 429, or a 503 with
 * Retry-After): retried like any failure, at that pace or slower. */
export class RetryLaterError extends Error {
  constructor(message: string, readonly retryAfterMs: number) {
    super(message);
    this.name = "RetryLaterError";
  }
}

/** Retry-After in milliseconds from `now` (delay-seconds or an HTTP date, at most a day); undefined when
 * absent or unreadable (Date.parse alone would read "Retry in 5" as a date in 2001). */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  const value = header?.trim() ?? "";
  const ms = /^\d+$/.test(value)
    ? Math.min(Number(value), 86_400) * 1000
    : HTTP_DATE.test(value)
    ? Date.parse(value) - now
    : NaN;
  return Number.isFinite(ms) ? Math.round(Math.min(Math.max(ms, 0), 86_400_000)) : undefined;
}

/** An IMF-fixdate, the form HTTP dates are sent in: "Sun, 06 Nov 1994 08:49:37 GMT". */
const HTTP_DATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/** Whether there is an address to send to: blank (only the ASCII white space the database's
 * private.has_address trims) is none, as there. */
export function hasAddress(email: string | null | undefined): boolean {
  return /[^ \t\n\r\f\v]/.test(email ?? "");
}

/** How long a 429 without a Retry-After it could read is taken to ask for. It still says "too many requests":
 * read as an ordinary failure, each message of a claim would be posted into the throttle and spend a try, and a
 * throttle lasting hours would use up every queued message's tries. */
const THROTTLED_WAIT_MS = 30_000;

/** Answers that refuse the message itself, so the same request would be refused again. A problem of the
 * setup (401, 403, 404: a wrong token or url) or of the moment (408, 429, 5xx) is retried: fixing it sends
 * those messages without anyone's help. */
const REFUSALS = new Set([400, 413, 422]);

/** Answers from a server that may have passed the message on before failing (500, a gateway's 502 and 504, a
 * CDN's 520 and 524: the mailer got the request, then answered nothing readable or nothing in time); 503 says
 * it took nothing, and so do a CDN's 521–523 (the mailer was not reached). */
const UNCERTAIN = new Set([500, 502, 504, 520, 524]);

/** A failure of fetch before any request went out: the address did not resolve or the connection was
 * refused. Anything else (a timeout, a connection reset) may have come after the provider read the message. */
const NOT_SENT = /\(Connect\)|dns error|connection refused/i;

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
 * permanent. A redirect is not followed: fetch would turn the POST into a GET without the message (301–303)
 * and take whatever answers there for a delivery, or post the guest's address to wherever it points.
 * The key is the dedupe key and a digest of it with the recipient: a message sent again to a corrected address
 * is a new request, where the same key with another body is refused by providers that check it. (With the key
 * in it, the digest of one address differs from booking to booking.)
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
        redirect: "manual",
        headers: {
          "content-type": "application/json",
          "idempotency-key": `${n.dedupe_key}:${await recipientDigest(n)}`,
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({
          kind: n.kind,
          booking_id: n.booking_id,
          to: { email: postedAddress(n), name: n.recipient_name },
          booking: n.payload,
        }),
        signal: AbortSignal.timeout(10_000),
      }).catch((error) => {
        const why = [error, error?.cause].filter((e) => e instanceof Error).map((e) => e.message).join(": ");
        const message = `webhook request failed: ${unquoted(why || String(error))}`;
        throw NOT_SENT.test(why) ? new Error(message) : new UncertainSendError(message);
      });
      await response.body?.cancel();
      if (REFUSALS.has(response.status)) {
        throw new PermanentSendError(`webhook refused the message (${response.status})`);
      }
      if (response.type === "opaqueredirect" || (response.status >= 300 && response.status < 400)) {
        throw new Error(
          `webhook answered ${response.status}, a redirect: set NOTIFICATION_WEBHOOK_URL to the address it points to`,
        );
      }
      if (UNCERTAIN.has(response.status)) throw new UncertainSendError(`webhook answered ${response.status}`);
      const wait = retryAfterMs(response.headers.get("retry-after"));
      if ((response.status === 429 || response.status === 503) && wait !== undefined) {
        throw new RetryLaterError(`webhook answered ${response.status}, asking to wait ${wait} ms`, wait);
      }
      if (response.status === 429) {
        throw new RetryLaterError(
          `webhook answered 429 without a Retry-After it could read: waiting ${THROTTLED_WAIT_MS} ms`,
          THROTTLED_WAIT_MS,
        );
      }
      if (!response.ok) throw new Error(`webhook answered ${response.status}`);
    },
  };
}

/** The address as posted and keyed: without the whitespace around it (the same characters hasAddress calls
 * blank), its case kept (the part before the @ may be case-sensitive). One address, one idempotency key and
 * one body: a provider that checks keys refuses the same key with another body. */
function postedAddress(n: ClaimedNotification): string {
  return (n.recipient_email ?? "").replace(/^[ \t\n\r\f\v]+|[ \t\n\r\f\v]+$/g, "");
}

/** 16 hex digits of the SHA-256 of the dedupe key and the recipient as posted (address and name). */
async function recipientDigest(n: ClaimedNotification): Promise<string> {
  const recipient = `${n.dedupe_key}\n${postedAddress(n)}\n${n.recipient_name ?? ""}`;
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(recipient));
  return Array.from(new Uint8Array(digest).slice(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
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
