// Edge function `notification-dispatcher`: delivers due confirmation notifications from the outbox.
// Nudged by the sweeper when notifications are due (retries after a failed send).
import { loadSharedConfig } from "../../../shared/config/env.ts";
import { createDispatcherHandler } from "../../../shared/notifications/handler.ts";
import { storeFromEnv } from "../../../shared/store/from-env.ts";
import { budgetedLogger } from "../../../shared/telemetry/log-budget.ts";
import { consoleLogger } from "../../../shared/telemetry/log.ts";

const env = Deno.env.toObject();
const logger = budgetedLogger(consoleLogger());
// The log budget's count of what it left out is written before the instance goes.
addEventListener("beforeunload", () => logger.flush());

Deno.serve(createDispatcherHandler({
  store: storeFromEnv(env),
  config: loadSharedConfig(env),
  logger,
}));
