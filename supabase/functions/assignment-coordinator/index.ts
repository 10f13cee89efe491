// Edge function `assignment-coordinator`: called by pg_net when a booking is inserted or changed, and by
// the sweeper for retries. Thin on purpose; the logic is in shared/coordinator.
import { loadCoordinatorConfig } from "../../../shared/coordinator/config.ts";
import { createCoordinatorHandler } from "../../../shared/coordinator/handler.ts";
import { deliverDueNotifications } from "../../../shared/notifications/dispatcher.ts";
import { senderFromEnv } from "../../../shared/notifications/senders.ts";
import { storeFromEnv } from "../../../shared/store/from-env.ts";
import { consoleLogger } from "../../../shared/telemetry/log.ts";

const env = Deno.env.toObject();
const store = storeFromEnv(env);
const sender = senderFromEnv(env);
const logger = consoleLogger();

Deno.serve(createCoordinatorHandler({
  store,
  config: loadCoordinatorConfig(env),
  logger,
  afterConfirm: () => deliverDueNotifications(store, sender, logger, 10),
}));
