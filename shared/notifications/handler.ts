// The notification-dispatcher function's request handler: authenticate, deliver what is due, report.
import { errorResponse, json } from "../http/responses.ts";
import { hasSecret } from "../http/secret.ts";
import type { AssignmentStore } from "../store/port.ts";
import type { Logger } from "../telemetry/log.ts";
import { deliverDueNotifications } from "./dispatcher.ts";
import type { Sender } from "./senders.ts";

export function createDispatcherHandler(deps: {
  store: AssignmentStore;
  sender: Sender;
  logger: Logger;
  secret: string;
}): (request: Request) => Promise<Response> {
  return async (request) => {
    if (request.method !== "POST") return errorResponse(405, "method_not_allowed", "use POST");
    if (!hasSecret(request, deps.secret)) {
      return errorResponse(
        401,
        "unauthorized",
        "missing or wrong pipeline secret in the Authorization header",
      );
    }
    try {
      return json(200, await deliverDueNotifications(deps.store, deps.sender, deps.logger));
    } catch (error) {
      deps.logger.error("notifications", `dispatch failed: ${error}`);
      return errorResponse(500, "internal_error", "notifications could not be dispatched; they stay queued");
    }
  };
}
