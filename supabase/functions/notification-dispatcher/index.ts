// Edge function `notification-dispatcher`: delivers due confirmation notifications from the outbox.
// Nudged by the sweeper when notifications are due (retries after a failed send).
import { loadSharedConfig } from "../../../shared/config/env.ts";
import { stopSending } from "../../../shared/notifications/dispatcher.ts";
import { createDispatcherHandler } from "../../../shared/notifications/handler.ts";
import { storeFromEnv } from "../../../shared/store/from-env.ts";
import { budgetedLogger } from "../../../shared/telemetry/log-budget.ts";
import { consoleLogger } from "../../../shared/telemetry/log.ts";

const env = Deno.env.toObject();
const logger = budgetedLogger(consoleLogger());
// About to end: the messages claimed and not yet posted are handed back, due again at once for another instance,
// and the log budget's count of what it left out is written.
addEventListener("beforeunload", () => {
  stopSending();
  logger.flush();
});

Deno.serve(createDispatcherHandler({
  store: storeFromEnv(env),
  config: loadSharedConfig(env),
  logger,
}));
