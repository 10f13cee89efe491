// The assignment-coordinator function's request handler: authenticate, validate, process the booking,
// answer, then keep draining due bookings for a while so retries and rate-limited bookings do not wait
// for the next sweep. Nothing is written for a rejected request.
import { z } from "../deps.ts";
import { idSchema } from "../domain/id.ts";
import { runInBackground } from "../http/background.ts";
import { MAX_BODY_BYTES, readJsonBody } from "../http/body.ts";
import { errorResponse, json } from "../http/responses.ts";
import { hasSecret } from "../http/secret.ts";
import type { AssignmentStore } from "../store/port.ts";
import type { Logger } from "../telemetry/log.ts";
import type { CoordinatorConfig } from "./config.ts";
import { processBooking } from "./coordinator.ts";

export const dispatchBodySchema = z.object({
  booking_id: idSchema("booking_id must be a UUID"),
  trigger: z.string().min(1).max(40).regex(/^[a-z_]+$/, "trigger must be lower_snake_case").default(
    "dispatch",
  ),
}).strict();

export interface CoordinatorDeps {
  store: AssignmentStore;
  config: CoordinatorConfig;
  logger: Logger;
  /** Runs in the background after a confirmation, e.g. to deliver the confirmation right away. */
  afterConfirm?: () => Promise<unknown>;
}

export function createCoordinatorHandler(deps: CoordinatorDeps): (request: Request) => Promise<Response> {
  const { store, config, logger } = deps;
  const options = {
    strategy: config.strategy,
    maxParallel: config.maxParallel ?? undefined,
    modeCeiling: config.modeCeiling,
    maxReplans: config.maxReplans,
    reoptimizeMaxMoves: config.reoptimizeMaxMoves,
    logger,
  };
  let draining = false;

  async function run(bookingId: string, trigger: string) {
    const outcome = await processBooking(store, bookingId, trigger, options);
    if (outcome.outcome === "confirmed" && deps.afterConfirm) {
      runInBackground(
        deps.afterConfirm().catch((e) => logger.error("notifications", `delivery failed: ${e}`)),
      );
    }
    return outcome;
  }

  async function drain(): Promise<void> {
    if (draining || config.drainBudgetMs === 0) return;
    draining = true;
    const until = Date.now() + config.drainBudgetMs;
    let idleSince = Date.now();
    try {
      while (Date.now() < until && Date.now() - idleSince < 1500) {
        const due = await store.claimDue({ limit: 10, visibilityMs: 10_000 });
        if (due.length === 0) {
          await new Promise((r) => setTimeout(r, 100));
          continue;
        }
        idleSince = Date.now();
        await Promise.all(
          due.map((id) =>
            run(id, "drain").catch((error) =>
              logger.error("assignment.coordinator", `drain failed: ${error}`, { booking_id: id })
            )
          ),
        );
      }
    } finally {
      draining = false;
    }
  }

  return async (request) => {
    if (request.method !== "POST") {
      return errorResponse(405, "method_not_allowed", 'use POST with a JSON body {"booking_id": "<uuid>"}');
    }
    if (!hasSecret(request, config.secret)) {
      return errorResponse(
        401,
        "unauthorized",
        "missing or wrong pipeline secret in the Authorization header",
      );
    }
    const body = await readJsonBody(request);
    if (!body.ok && body.problem === "too_large") {
      return errorResponse(413, "body_too_large", `the request body exceeds ${MAX_BODY_BYTES} bytes`);
    }
    if (!body.ok) return errorResponse(400, "invalid_json", "the request body is not valid JSON");
    const parsed = dispatchBodySchema.safeParse(body.value);
    if (!parsed.success) {
      return errorResponse(400, "invalid_body", z.prettifyError(parsed.error), {
        issues: parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })),
      });
    }
    try {
      const outcome = await run(parsed.data.booking_id, parsed.data.trigger);
      runInBackground(drain().catch((e) => logger.error("assignment.coordinator", `drain stopped: ${e}`)));
      return json(200, { booking_id: parsed.data.booking_id, ...outcome });
    } catch (error) {
      logger.error("assignment.coordinator", `unhandled: ${error}`, { booking_id: parsed.data.booking_id });
      return errorResponse(500, "internal_error", "the booking could not be processed; it will be retried");
    }
  };
}
