// The exit gates as pure functions of ops.pipeline_metrics' answer (no database needed).
import { assertEquals } from "../../shared/testing/assert.ts";
import { allGatesFor, gatesFor, verdictOf } from "./gates.ts";

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
    gatesFor("staging-shadow", metrics, 24).filter((g) =>
      /success rate/i.test(g.metric) && g.outcome === "pass"
    ),
    [],
    "no gate passes on the plan's query, which compares legacy with itself in shadow",
  );
  const gate = gatesFor("staging-shadow", metrics, 24).find((g) => SUCCESS_GATE.test(g.metric));
  assertEquals([gate?.value, gate?.outcome], [40, "fail"]);

  const none = gatesFor("prod-shadow", { ...metrics, shadow: {} }, 24).find((g) =>
    SUCCESS_GATE.test(g.metric)
  );
  assertEquals(none?.outcome, "no data", "no comparisons: nothing to judge V3 by");
});

Deno.test("a window shorter than the phase's minimum, or staging with under 100 bookings, is inconclusive, never a pass", () => {
  const healthy = {
    bookings: 120,
    confirmation_rate_pct: 99,
    manual_review_rate_pct: 0,
    error_rate_pct: 0,
    success_rate_pct: 100,
    latency_p95_ms: 500,
    lock_wait_p95_ms: 10,
    events: {},
  };
  const watched = (phase: Parameters<typeof gatesFor>[0], m: typeof healthy, hours: number) =>
    gatesFor(phase, m, hours).filter((g) => /^(Window length|Bookings in the window)$/.test(g.metric))
      .map((g) => `${g.metric} ${g.target}: ${g.outcome}`);
  assertEquals(watched("staging-full", healthy, 47.5), [
    "Window length ≥ 48: no data",
    "Bookings in the window ≥ 100: pass",
  ]);
  assertEquals(watched("staging-shadow", { ...healthy, bookings: 99 }, 24), [
    "Window length ≥ 24: pass",
    "Bookings in the window ≥ 100: no data",
  ]);
  assertEquals(watched("prod-100", healthy, 24), [
    "Window length ≥ 168: no data",
    "Bookings in the window > 0: pass",
  ]);
  assertEquals(watched("prod-10", { ...healthy, bookings: 1 }, 24), [
    "Window length ≥ 24: pass",
    "Bookings in the window > 0: pass",
  ]);
  assertEquals(
    verdictOf(gatesFor("staging-full", healthy, 1)) === "PASS",
    false,
    "an hour never passes staging",
  );
});

Deno.test("at 10 % and 50 % the gates judge the bookings V3 decided, which a fleet mostly on legacy would hide", () => {
  const healthy = {
    bookings: 1000,
    confirmation_rate_pct: 99,
    manual_review_rate_pct: 0.9,
    error_rate_pct: 0,
    success_rate_pct: 99,
    terminal_pct: 100,
    latency_ms: { p95: 400 },
    lock_wait_p95_ms: 5,
    coordinator_errors: 0,
    circuit_opens: 0,
    stuck: 0,
    duplicate_confirmations: 0,
    events: { bookings_with_transitions: 1000, coordinator: 500 },
  };
  // The V3 tenth sends 8 % to review; with the legacy 90 % at 0.2 % the fleet reads 0.9 %.
  const v3 = {
    ...healthy,
    bookings: 100,
    manual_review_rate_pct: 8,
    events: { bookings_with_transitions: 100, coordinator: 500 },
  };
  assertEquals(verdictOf(gatesFor("prod-10", healthy, 24)), "PASS", "the fleet alone passes");
  for (const phase of ["prod-10", "prod-50"] as const) {
    const gates = allGatesFor(phase, healthy, v3, 24);
    assertEquals(verdictOf(gates), "FAIL", phase);
    assertEquals(
      gates.filter((g) => g.outcome === "fail").map((g) => `${g.metric}: ${g.value}`),
      ["V3 restaurants: Manual review rate: 8"],
    );
  }
  assertEquals(
    verdictOf(allGatesFor("prod-10", healthy, { bookings: 0, events: {} }, 24)),
    "INCONCLUSIVE",
    "no booking decided by V3: nothing to judge it by",
  );
  assertEquals(
    allGatesFor("prod-100", healthy, v3, 24).some((g) => g.metric.startsWith("V3")),
    false,
    "at 100 % the fleet is V3",
  );
});
