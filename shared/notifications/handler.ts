// The notification-dispatcher function's request handler: authenticate, deliver what is due, report. With
// an unusable NOTIFICATION_SENDER it claims nothing and answers with the problem, so the outbox keeps every
// notification for when the setting is fixed.
import type { SharedConfig } from "../config/env.ts";
import { runInBackground } from "../http/background.ts";
import { within } from "../http/within.ts";
import { errorResponse, json } from "../http/responses.ts";
import { readPipelineRequest } from "../http/pipeline-request.ts";
import type { AssignmentStore } from "../store/port.ts";
import type { Logger } from "../telemetry/log.ts";
import { deliverWhileFull } from "./dispatcher.ts";
import { createSender } from "./senders.ts";

const CLAIM_LIMIT = 50;
const CLAIMS_PER_REQUEST = 4;
/** No claim is started after this: the sweeper's request gives up after dispatch_timeout_ms (5 s by
 * default), and one that ends inside it shows as a success, not in health's dispatch.failed_last_15_min. */
const CLAIM_BUDGET_MS = 3_000;
/** A round's sends may run on well past the claim budget (a slow mailer): the request is answered by then,
 * still inside the sweeper's 5 s, and the sends go on in the background. */
const ANSWER_WITHIN_MS = 4_000;

export function createDispatcherHandler(deps: {
  store: AssignmentStore;
  config: SharedConfig;
  logger: Logger;
  answerWithinMs?: number;
}): (request: Request) => Promise<Response> {
  const { store, config, logger, answerWithinMs = ANSWER_WITHIN_MS } = deps;
  const sender = createSender(config.sender);
  return async (request) => {
    if (request.method !== "POST") return errorResponse(405, "method_not_allowed", "use POST");
    // The dispatcher needs no body; one sent anyway is read only up to the ceiling (and signed, from pg_net).
    const received = await readPipelineRequest(
      request,
      config.secret,
      "notification-dispatcher",
      config.previousSecret ?? null,
    );
    if (!received.ok) return received.response;
    if (config.sender.kind === "unusable") {
      logger.error("notifications", `not dispatching: ${config.sender.problem}`);
      return errorResponse(
        500,
        "sender_misconfigured",
        `${config.sender.problem}; the notifications stay queued`,
      );
    }
    try {
      // Several claims a request, so a backlog (a resend after an outage) drains faster than the sweeper's
      // one request every 5 s would take one claim each; bounded in claims and time, so a request ends well
      // inside its limits and, as a rule, before the sweeper stops waiting for it.
      const limits = { limit: CLAIM_LIMIT, maxRounds: CLAIMS_PER_REQUEST, budgetMs: CLAIM_BUDGET_MS };
      // The runtime's to keep alive: once pg_net stops waiting, an instance with nothing handed over may be
      // retired mid-send, leaving the claimed messages to wait out their lease and count a try each.
      const delivery = deliverWhileFull(store, sender!, logger, limits);
      // A failure before the answer is logged once, below; one after it, here.
      let answered = false;
      runInBackground(delivery.catch((error) => {
        if (answered) logger.error("notifications", `dispatch failed: ${error}`);
      }));
      const report = await within(delivery, answerWithinMs);
      if (report !== undefined) return json(200, report);
      answered = true;
      return json(202, { still_sending: true });
    } catch (error) {
      logger.error("notifications", `dispatch failed: ${error}`);
      return errorResponse(500, "internal_error", "notifications could not be dispatched; they stay queued");
    }
  };
}
