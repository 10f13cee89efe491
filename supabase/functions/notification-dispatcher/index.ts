// Edge function `notification-dispatcher`: delivers due confirmation notifications from the outbox.
// Nudged by the sweeper when notifications are due (retries after a failed send).
import { createDispatcherHandler } from "../../../shared/notifications/handler.ts";
import { senderFromEnv } from "../../../shared/notifications/senders.ts";
import { storeFromEnv } from "../../../shared/store/from-env.ts";
import { consoleLogger } from "../../../shared/telemetry/log.ts";

const env = Deno.env.toObject();
const secret = env.ASSIGNMENT_PIPELINE_SECRET;
if (!secret) throw new Error("ASSIGNMENT_PIPELINE_SECRET is not set");

Deno.serve(createDispatcherHandler({
  store: storeFromEnv(env),
  sender: senderFromEnv(env),
  logger: consoleLogger(),
  secret,
}));
