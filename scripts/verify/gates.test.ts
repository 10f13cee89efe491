// The exit gates as pure functions of ops.pipeline_metrics' answer (no database needed).
import { assertEquals } from "../../shared/testing/assert.ts";
import { gatesFor } from "./gates.ts";

const SUCCESS_GATE = /^Legacy vs V3 assign rate on the same snapshots/;

Deno.test("the shadow success-rate gate compares legacy with V3's shadow decisions, not with itself", () => {
  const metrics = {
    bookings: 10,
    // In shadow every booking's state machine records legacy's outcome: the same rate as legacy's.
    legacy_vs_coordinator: {
      legacy: { success_rate: 100 },
      coordinator_shadow: { success_rate: 100 },
    },
    shadow: { v3: { comparisons: 13, primary_assign_pct: 100, candidate_assign_pct: 60 } },
  };
  assertEquals(
    gatesFor("staging-shadow", metrics).filter((g) => /success rate/i.test(g.metric) && g.outcome === "pass"),
    [],
    "no gate passes on the plan's query, which compares legacy with itself in shadow",
  );
  const gate = gatesFor("staging-shadow", metrics).find((g) => SUCCESS_GATE.test(g.metric));
  assertEquals([gate?.value, gate?.outcome], [40, "fail"]);

  const none = gatesFor("prod-shadow", { ...metrics, shadow: {} }).find((g) => SUCCESS_GATE.test(g.metric));
  assertEquals(none?.outcome, "no data", "no comparisons: nothing to judge V3 by");
});
