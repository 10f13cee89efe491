// Edge function `assignment-coordinator`: called by pg_net when a booking is inserted or changed, and by
// the sweeper for retries. Thin on purpose; the logic is in shared/coordinator.
import { loadCoordinatorConfig, loadedFlags } from "../../../shared/coordinator/config.ts";
import { createCoordinatorHandler } from "../../../shared/coordinator/handler.ts";
import { batched } from "../../../shared/notifications/batched.ts";
import { deliverAllDue, stopSending } from "../../../shared/notifications/dispatcher.ts";
import { createSender } from "../../../shared/notifications/senders.ts";
import { storeFromEnv } from "../../../shared/store/from-env.ts";
import { budgetedLogger } from "../../../shared/telemetry/log-budget.ts";
import { consoleLogger } from "../../../shared/telemetry/log.ts";

const env = Deno.env.toObject();
const config = loadCoordinatorConfig(env);
// A connection for each drain worker, beside the request's own attempt and its confirmation's delivery.
const store = storeFromEnv(env, Math.max(5, config.drainWorkers + 2));
// Without a usable sender, confirmations wait in the outbox for the dispatcher (reported at start).
const sender = createSender(config.sender);
const logger = budgetedLogger(consoleLogger());
logger.info("assignment.coordinator", "flags loaded", loadedFlags(config));
// A hosted worker is told it is about to end (wall clock or CPU limit reached, instance retired); the drain
// then stops claiming so no booking is taken just to be cut off, the confirmations' delivery hands back what it
// has not posted, and the log budget's count of what it left out is written.
const shutdown = new AbortController();
addEventListener("beforeunload", () => {
  shutdown.abort();
  stopSending();
  logger.flush();
});

// A confirmation's delivery starts this long after the first confirmation that asks (later while the previous
// delivery still runs) and shares its claims of the outbox with the others confirmed meanwhile: a burst of
// bookings costs the database about a claim per window, not one per booking.
const DELIVERY_WINDOW_MS = 250;

Deno.serve(createCoordinatorHandler({
  store,
  config,
  logger,
  afterConfirm: sender ? batched(() => deliverAllDue(store, sender, logger), DELIVERY_WINDOW_MS) : undefined,
  shutdown: shutdown.signal,
}));
