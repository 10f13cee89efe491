// The exit gates as pure functions of ops.pipeline_metrics' answer (no database needed).
import { assert, assertEquals } from "../../shared/testing/assert.ts";
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
  // The V3 tenth sends 8 % to review (operators seat most of them by hand); with the legacy 90 % at 0.2 % the
  // fleet reads 0.9 %.
  const healthy = { ...passing(), sent_to_review: 180, manual_review_rate_pct: 0.9 };
  const v3 = {
    ...passing(),
    bookings: 2000,
    not_cancelled: 2000,
    confirmed: 1950,
    decided: 2000,
    sent_to_review: 160,
    manual_review_rate_pct: 8,
    attempts: 2000,
    successful_attempts: 1950,
    terminal: 2000,
    events: { bookings_with_transitions: 2000, coordinator: 6000 },
    transitions: { history: 8000, events: 8000 },
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

Deno.test("bookings a switched-off restaurant sends to review by design leave the confirmation and review rates", () => {
  // prod-100: one restaurant off with 600 of 20,600 bookings, all in review; V3 sends 100 of the rest (0.5 %).
  const m = {
    ...passing(),
    bookings: 20600,
    not_cancelled: 20600,
    decided: 20600,
    sent_to_review: 700,
    manual_review_rate_pct: 3.4,
    confirmation_rate_pct: 94.66,
    switched_off: { bookings: 600, confirmed: 0, not_cancelled: 600, decided: 600, sent_to_review: 600 },
  };
  const gates = gatesFor("prod-100", m, 168);
  assertEquals(
    verdictOf(gates),
    "PASS",
    gates.filter((g) => g.outcome !== "pass").map((g) => g.metric).join(),
  );
  const rate = (metric: string) => gates.find((g) => g.metric === metric)!;
  assertEquals(rate("Manual review rate").value, 0.5);
  assertEquals(rate("Confirmation rate").value, 97.5);
  assert(
    rate("Manual review rate").source.endsWith(
      "; 600 bookings sent to review by a restaurant switched off left out",
    ),
  );
  // Without the restaurant's share taken out, the same figures fail both.
  const counted = gatesFor("prod-100", { ...m, switched_off: undefined }, 168);
  assertEquals(
    counted.filter((g) => g.outcome === "fail").map((g) => g.metric),
    ["Confirmation rate", "Manual review rate"],
  );
  // A booking of theirs in review for another reason (a fault) is not in switched_off, so it still counts.
  const fault = { ...m, sent_to_review: 900 };
  assertEquals(verdictOf(gatesFor("prod-100", fault, 168)), "FAIL");
});

/** A full phase's metrics that pass every gate, with the counts the rates are rounded from. */
function passing() {
  return {
    bookings: 20000,
    cancelled: 0,
    not_cancelled: 20000,
    confirmed: 19500,
    confirmation_rate_pct: 97.5,
    decided: 20000,
    sent_to_review: 100,
    manual_review_rate_pct: 0.5,
    attempts: 20000,
    successful_attempts: 19500,
    success_rate_pct: 97.5,
    errored_attempts: 0,
    error_rate_pct: 0,
    terminal: 20000,
    terminal_pct: 100,
    latency_ms: { p95: 400 },
    lock_wait_p95_ms: 5,
    coordinator_errors: 0,
    circuit_opens: 0,
    stuck: 0,
    duplicate_confirmations: 0,
    events: { bookings_with_transitions: 20000, coordinator: 60000 },
    transitions: { history: 80000, events: 80000 },
    modes: { v3: 20000 },
  };
}

const failed = (m: Record<string, unknown>) =>
  gatesFor("staging-full", m, 48).filter((g) => g.outcome === "fail").map((g) => g.metric);

Deno.test("a share just under its target fails, though the rate rounded to two decimals reads the target", () => {
  assertEquals(verdictOf(gatesFor("staging-full", passing(), 48)), "PASS");
  assertEquals(
    failed({ ...passing(), confirmed: 18999, confirmation_rate_pct: 95 }),
    ["Confirmation rate"],
    "18,999 of 20,000 is 94.995 %",
  );
  assertEquals(
    failed({ ...passing(), confirmed: 19000, confirmation_rate_pct: 95 }),
    [],
    "19,000 of 20,000 is 95 %",
  );
  assertEquals(
    failed({ ...passing(), successful_attempts: 19399, success_rate_pct: 97 }),
    ["Success rate (attempts that seated the booking)"],
    "19,399 of 20,000 attempts is 96.995 %",
  );
  assertEquals(
    failed({ ...passing(), sent_to_review: 199, manual_review_rate_pct: 1 }),
    [],
    "199 of 20,000 sent to review is 0.995 %, under 1 % though it reads 1.00",
  );
  assertEquals(failed({ ...passing(), terminal: 19000, terminal_pct: 95 }), [
    "Terminal states (confirmed, manual review, cancelled)",
  ]);
});

Deno.test("a transition without its event fails the gate that every expected transition is present", () => {
  assertEquals(
    failed({ ...passing(), transitions: { history: 80000, events: 79999 } }),
    ["All expected state transitions present: transition events ÷ transitions recorded"],
  );
  const gate = gatesFor("staging-shadow", { ...passing(), transitions: { history: 0, events: 0 } }, 24)
    .find((g) => g.metric.startsWith("All expected state transitions"));
  assertEquals(gate?.outcome, "no data", "no transition in the window: nothing to judge");
});

Deno.test("a full phase's window that V3 did not decide fails, as one mostly on legacy would", () => {
  const v3Gate = "Bookings decided by V3, of those a path decided (restaurants switched off left out)";
  assertEquals(failed({ ...passing(), modes: { legacy: 940, v3: 60 } }), [v3Gate]);
  assertEquals(
    failed({ ...passing(), modes: { v3: 19900, legacy: 100, off: 500, none: 20 } }),
    [],
    "99.5 % of those decided",
  );
  for (const phase of ["prod-10", "prod-50", "staging-shadow", "prod-shadow"] as const) {
    assertEquals(
      gatesFor(phase, { ...passing(), modes: { legacy: 940, v3: 60 } }, 48).some((g) => g.metric === v3Gate),
      false,
      `${phase}: legacy is meant to decide most bookings`,
    );
  }
});

Deno.test("a window reaching back past the events kept is inconclusive, never a pass", () => {
  const kept = (from: string) =>
    gatesFor("staging-full", { ...passing(), from, events_kept_since: "2030-01-01T00:00:00Z" }, 48)
      .find((g) => g.metric === "Hours of the window whose events were pruned (event retention)")
      ?.outcome;
  assertEquals(kept("2030-01-02T00:00:00Z"), "pass");
  assertEquals(
    kept("2029-12-31T23:59:59.990Z"),
    "pass",
    "--since as long as the retention, read a moment apart",
  );
  assertEquals(kept("2029-12-31T00:00:00Z"), "no data", "its errors and transitions were pruned in part");
  // Its first day's events pruned: fewer transitions than recorded, and errors maybe uncounted.
  const partly = {
    ...passing(),
    from: "2029-12-31T00:00:00Z",
    events_kept_since: "2030-01-01T00:00:00Z",
    transitions: { history: 80000, events: 70000 },
  };
  assertEquals(
    verdictOf(gatesFor("staging-full", partly, 48)),
    "INCONCLUSIVE",
    "not a failure of the pipeline",
  );
  assertEquals(
    gatesFor("staging-full", { ...partly, confirmed: 18000 }, 48).filter((g) => g.outcome === "fail").map((
      g,
    ) => g.metric),
    ["Confirmation rate"],
    "a gate of bookings still fails it",
  );
  assertEquals(
    gatesFor("staging-full", {
      ...partly,
      coordinator_errors: 3,
      transitions: { history: 80000, events: 80001 },
    }, 48)
      .filter((g) => g.outcome === "fail").map((g) => g.metric),
    [
      "All expected state transitions present: transition events ÷ transitions recorded",
      "Coordinator errors",
    ],
    "and so do events that are there: an error, a transition written twice",
  );
});

Deno.test("a shadow window reaching back past the comparisons kept is inconclusive, never a pass", () => {
  const shadow = (from: string) => ({
    ...passing(),
    from,
    shadow_kept_since: "2030-01-01T00:00:00Z",
    shadow: {
      v3: {
        comparisons: 100,
        primary_assign_pct: 90,
        candidate_assign_pct: 90,
        primary_escalate_pct: 10,
        candidate_escalate_pct: 10,
        candidate_errors: 0,
      },
    },
    events: { bookings_with_transitions: 20000, coordinator: 0 },
  });
  assertEquals(verdictOf(gatesFor("staging-shadow", shadow("2030-01-02T00:00:00Z"), 24)), "PASS");
  assertEquals(verdictOf(gatesFor("staging-shadow", shadow("2029-12-31T00:00:00Z"), 24)), "INCONCLUSIVE");
});
