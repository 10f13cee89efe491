// Deliver due notifications from the outbox: claim under a lease, send, record the result. A crash
// between send and record lets the lease expire and the row is sent again with the same idempotency key.
// A result is recorded under the claim's lease token: if this dispatcher stalled past its lease and
// another one claimed the row meanwhile, Postgres answers "lease_lost" and the other one's result counts.
// A failure the sender calls permanent (PermanentSendError) is recorded so, and the message is dead at once;
// one without an answer (UncertainSendError) is recorded as perhaps received. At most SENDS_AT_ONCE sends are
// out at a time, so a claim of 50 does not hit the provider's rate limit as one burst, and none starts later
// than SEND_WINDOW_MS after the claim, so every send ends (10 s at most) well inside the claim's 60 s lease:
// what is left is handed back, due again at once. Once the provider asks to wait (RetryLaterError), the
// claim's unsent messages are handed back to wait as long, and no further claim is made. So are they when the
// instance is about to end (stopSending): a message claimed and never posted would otherwise wait out its lease
// and then count as perhaps received. A message handed back was never posted: no try of it is counted.
import type { AssignmentStore, CompleteNotificationArgs } from "../store/port.ts";
import type { Logger } from "../telemetry/log.ts";
import { PermanentSendError, RetryLaterError, type Sender, UncertainSendError } from "./senders.ts";
import type { ClaimedNotification } from "../store/results.ts";

export interface DeliveryReport {
  claimed: number;
  sent: number;
  failed: number;
  /** Sends whose result was not recorded because the row had been claimed again (lease expired). */
  leaseLost: number;
  /** Claimed messages handed back unposted: the provider asked to wait, time ran out, or the instance ends. */
  handedBack: number;
}

/** Each run under way in this instance, handing back what it has not posted. */
const runsUnderWay = new Set<() => void>();
let stopping = false;

/**
 * The instance is about to end (its beforeunload): no send or claim starts from now on, and every run under way
 * hands back the messages it claimed and has not posted, so they are due again at once for another instance.
 */
export function stopSending(): void {
  stopping = true;
  for (const handBackNow of runsUnderWay) handBackNow();
}

export async function deliverDueNotifications(
  store: AssignmentStore,
  sender: Sender,
  logger: Logger,
  limit = 50,
  now: () => number = () => performance.now(),
): Promise<DeliveryReport> {
  if (stopping) return { claimed: 0, sent: 0, failed: 0, leaseLost: 0, handedBack: 0 };
  // Read before the claim: the lease runs from the claim's start, however long its answer takes.
  const claimedAt = now();
  const claimed = await store.claimNotifications({ limit, leaseMs: 60_000 });
  const report = { claimed: claimed.length, sent: 0, failed: 0, leaseLost: 0, handedBack: 0 };
  /** The wait a provider asked for (Retry-After): no further send is started once it has. */
  let asked: RetryLaterError | undefined;
  const started = new Set<number>();
  let handingBack: Promise<void> | undefined;
  // Each message on its own: one that cannot be recorded never stops the others, nor the answer. The messages
  // no turn will post are handed back once a turn finds the run closed; the turns wait for that too.
  const handBackNow = () => void (handingBack ??= handBack());
  runsUnderWay.add(handBackNow);
  try {
    await inTurns(
      claimed,
      SENDS_AT_ONCE,
      () => !stopping && !asked && now() - claimedAt <= SEND_WINDOW_MS,
      async (n) => {
        started.add(n.id);
        try {
          await sender.send(n);
        } catch (error) {
          if (error instanceof RetryLaterError) asked ??= error;
          return await recordFailure(n, error);
        }
        // Delivered: only a success may be recorded now. Marking it failed because the database did not answer
        // would send it again under a later lease.
        if (await complete(n, { ok: true }) === "sent") report.sent++;
      },
      () => handingBack ??= handBack(),
    );
    await handingBack;
  } finally {
    runsUnderWay.delete(handBackNow);
  }
  return report;

  /**
   * The messages not posted are handed back, instead of coming back only when their lease runs out: to wait as
   * long as the provider asked (each would only have been refused), or due again at once when the run's time to
   * start sends ran out. At once, beside the sends still out: behind a result slow to record (a database call
   * waiting out its timeout), their lease could run out first, and a claim by another run would count them as
   * perhaps received and spend one of their tries. (A provider's wait asked by a send still out after the window
   * closed then applies to that send alone: the others come due at once and may meet it again.)
   */
  async function handBack(): Promise<void> {
    const unsent = claimed.filter((n) => !started.has(n.id));
    if (unsent.length === 0) return;
    report.handedBack = unsent.length;
    const why = asked
      ? `not sent: ${asked.message}`
      : stopping
      ? "not sent: the instance is ending"
      : `not sent: the run's ${SEND_WINDOW_MS / 1000} s to start sends ran out`;
    logger.warn("notifications", `${unsent.length} claimed messages handed back, ${why}`);
    const wait = asked ? { retryAfterMs: asked.retryAfterMs } : {};
    await Promise.all(unsent.map((n) => complete(n, { ok: false, error: why, notSent: true, ...wait })));
  }

  /** Records the result of this claim's message; a lease lost meanwhile is counted and logged. */
  async function complete(
    n: ClaimedNotification,
    result: Omit<CompleteNotificationArgs, "id" | "leaseToken">,
  ) {
    const outcome = await record(() => store.completeNotification({ ...leaseOf(n), ...result }), aboutOf(n));
    if (outcome === "lease_lost") lost(n);
    return outcome;
  }

  async function recordFailure(n: ClaimedNotification, error: unknown): Promise<void> {
    report.failed++;
    const message = error instanceof Error ? error.message : String(error);
    const permanent = error instanceof PermanentSendError;
    const mayHaveArrived = error instanceof UncertainSendError;
    const wait = error instanceof RetryLaterError ? { retryAfterMs: error.retryAfterMs } : {};
    logger.warn(
      "notifications",
      `send failed${permanent ? " for good" : mayHaveArrived ? " without an answer" : ""}: ${message}`,
      aboutOf(n),
    );
    await complete(n, { ok: false, error: message, permanent, mayHaveArrived, ...wait });
  }

  function lost(n: ClaimedNotification) {
    report.leaseLost++;
    logger.warn(
      "notifications",
      "lease lost: the notification was claimed again; its holder records it",
      aboutOf(n),
    );
  }

  /** The result recorded, tried three times; "unrecorded" when the database never took it. */
  async function record(complete: () => Promise<string>, about: Record<string, string>): Promise<string> {
    for (let attempt = 1;; attempt++) {
      try {
        return await complete();
      } catch (error) {
        if (attempt === RECORD_ATTEMPTS) {
          logger.error(
            "notifications",
            `result not recorded: ${error}; the claim's lease runs out and the message is tried again under the same dedupe key`,
            about,
          );
          return "unrecorded";
        }
        await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
      }
    }
  }
}

const RECORD_ATTEMPTS = 3;
const leaseOf = (n: ClaimedNotification) => ({ id: n.id, leaseToken: n.lease_token });
const aboutOf = (n: ClaimedNotification) => ({ booking_id: n.booking_id, kind: n.kind });
const SENDS_AT_ONCE = 8;
const SEND_WINDOW_MS = 30_000;

/**
 * Runs `work` on the items in order, at most `width` at a time, starting none once `open()` is false (which
 * stays so); as soon as a turn finds it so with items left, which no turn starts after, it waits for `closed()`.
 */
async function inTurns(
  items: readonly ClaimedNotification[],
  width: number,
  open: () => boolean,
  work: (item: ClaimedNotification) => Promise<void>,
  closed: () => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      if (!open()) return closed();
      await work(items[next++]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
}

/** How far deliverWhileFull goes: claims of `limit`, at most `maxRounds` of them, and no new claim once
 * `budgetMs` has passed since the first (by `now`, a clock in milliseconds). */
export interface DrainLimits {
  limit?: number;
  maxRounds?: number;
  budgetMs?: number;
  now?: () => number;
}

/**
 * Delivers until a claim comes back short of `limit` (a full one may have left more due), sends nothing
 * (what failed is due again only after its backoff), hands messages back (the provider asked to wait, its
 * time ran out, the instance is ending), `maxRounds` claims were made or the time budget is spent; returns the rounds' reports added up. Throws when the first claim fails; a later failure ends the
 * run with what was sent. A short claim may still leave some due: rows the claim found superseded count
 * against its limit without being returned, so behind a backlog of older messages a run can stop before the
 * newest; the sweeper's dispatcher sends those.
 */
export async function deliverWhileFull(
  store: AssignmentStore,
  sender: Sender,
  logger: Logger,
  { limit = 50, maxRounds = Infinity, budgetMs = Infinity, now = () => performance.now() }: DrainLimits = {},
): Promise<DeliveryReport> {
  const total: DeliveryReport = { claimed: 0, sent: 0, failed: 0, leaseLost: 0, handedBack: 0 };
  const started = now();
  for (let round = 1; round <= maxRounds; round++) {
    let report: DeliveryReport;
    try {
      report = await deliverDueNotifications(store, sender, logger, limit);
    } catch (error) {
      // What earlier rounds sent is recorded: report it rather than a failure of the whole run.
      if (round === 1) throw error;
      logger.error("notifications", `delivery stopped at claim ${round}: ${error}`);
      break;
    }
    for (const key of Object.keys(total) as (keyof DeliveryReport)[]) total[key] += report[key];
    // A claim that handed messages back was told to wait, ran out of time or is ending: another would too.
    if (report.claimed < limit || report.sent === 0 || report.handedBack > 0 || now() - started >= budgetMs) {
      break;
    }
  }
  return total;
}

/** deliverWhileFull reporting errors instead of throwing them: it runs in the background, for every
 * confirmation of a batch at once (see batched.ts), so the next batch's run waits for it. By default claims
 * of 50 for up to 10 s, then the next run (or the sweeper's dispatcher) goes on. */
export async function deliverAllDue(
  store: AssignmentStore,
  sender: Sender,
  logger: Logger,
  limits: DrainLimits = {},
): Promise<void> {
  try {
    await deliverWhileFull(store, sender, logger, { limit: 50, budgetMs: 10_000, ...limits });
  } catch (error) {
    logger.error("notifications", `delivery failed: ${error}`);
  }
}
