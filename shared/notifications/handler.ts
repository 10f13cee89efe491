// The notification-dispatcher function's request handler: authenticate, deliver what is due, report. With
// an unusable NOTIFICATION_SENDER it claims nothing and answers with the problem, so the outbox keeps every
// notification for when the setting is fixed.
import type { SharedConfig } from "../config/env.ts";
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

export function createDispatcherHandler(deps: {
  store: AssignmentStore;
  config: SharedConfig;
  logger: Logger;
}): (request: Request) => Promise<Response> {
  const { store, config, logger } = deps;
  const sender = createSender(config.sender);
  return async (request) => {
    if (request.method !== "POST") return errorResponse(405, "method_not_allowed", "use POST");
    // The dispatcher needs no body; one sent anyway is read only up to the ceiling (and signed, from pg_net).
    const received = await readPipelineRequest(request, config.secret, "notification-dispatcher");
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
      return json(200, await deliverWhileFull(store, sender!, logger, limits));
    } catch (error) {
      logger.error("notifications", `dispatch failed: ${error}`);
      return errorResponse(500, "internal_error", "notifications could not be dispatched; they stay queued");
    }
  };
}
