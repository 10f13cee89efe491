// The rollout plan's exit gates, per phase, as checks against ops.pipeline_metrics. Each gate names
// the planning document it comes from (the verification checklist, the rollout verification report,
// the task README, the runbook); where they disagree the stricter target applies and the report says so. A gate with nothing to measure (no bookings, no comparisons, nothing to divide)
// is "no data": it never passes, and it makes the verdict INCONCLUSIVE rather than PASS.

export const PHASES = [
  "local",
  "staging-shadow",
  "staging-full",
  "prod-shadow",
  "prod-10",
  "prod-50",
  "prod-100",
] as const;
export type Phase = (typeof PHASES)[number];

export type Outcome = "pass" | "fail" | "no data";

export interface Gate {
  metric: string;
  target: string;
  value: number | null;
  unit: string;
  outcome: Outcome;
  source: string;
}

export type Verdict = "PASS" | "FAIL" | "INCONCLUSIVE";

/** Metrics as ops.pipeline_metrics returns them (numbers may arrive as strings from jsonb numerics). */
// deno-lint-ignore no-explicit-any
export type Metrics = Record<string, any>;

const n = (v: unknown): number | null => (v === null || v === undefined || v === "" ? null : Number(v));

/**
 * The exact share, in percent, of the counts a rate was rounded from (ops.pipeline_metrics rounds its rates to two
 * decimals, and 94.995 % must not pass "at least 95 %"); null with nothing to divide. A database whose metrics
 * predate the counts (20261231080000) gives the rounded rate, as before.
 */
function exactShare(part: unknown, whole: unknown, rounded: unknown): number | null {
  if (n(part) === null || n(whole) === null) return n(rounded);
  return n(whole)! > 0 ? (100 * n(part)!) / n(whole)! : null;
}

/**
 * How many hours of a window starting at `from` lie before the oldest event kept, rounded up to a tenth; none
 * within a minute of it (`--since 7d` under a 7-day retention: the window's start and the metrics' clock are
 * read by two statements, milliseconds apart, and the nightly prune keeps a day more than that anyway).
 */
function prunedHours(from: string, keptSince: string): number {
  const pruned = Date.parse(keptSince) - Date.parse(from);
  return pruned <= 60_000 ? 0 : Math.ceil(pruned / 360_000) / 10;
}

/** The gate that a window's `what` (pruned after their retention) were all still kept, "no data" when some were
 * not; none where the metrics do not say from when they are kept. */
function keptWholeWindow(
  metric: string,
  from: string,
  keptSince: string | undefined,
  what: string,
  setting: string,
) {
  if (keptSince === undefined) return [];
  const hours = prunedHours(from, keptSince);
  return [{
    metric,
    target: "0",
    value: hours,
    unit: " h",
    outcome: hours === 0 ? "pass" as const : "no data" as const,
    source: `the window's ${what} must all still be there to be counted (${setting})`,
  }];
}

/** The V3 share of the bookings a path decided: the plan's "all new bookings route through the coordinator". */
function v3Share(modes: Record<string, unknown> | undefined): number | null {
  const decided = ["v3", "legacy", "shadow"].reduce((sum, mode) => sum + (n(modes?.[mode]) ?? 0), 0);
  return decided > 0 ? (100 * (n(modes?.v3) ?? 0)) / decided : null;
}

function gate(
  metric: string,
  target: string,
  value: unknown,
  unit: string,
  ok: (v: number) => boolean,
  source: string,
): Gate {
  const v = n(value);
  return {
    metric,
    target,
    value: v,
    unit,
    outcome: v === null ? "no data" : ok(v) ? "pass" : "fail",
    source,
  };
}

export const isShadowPhase = (p: Phase) => p === "staging-shadow" || p === "prod-shadow";
/** Phases where FEATURE_ASSIGNMENT_PIPELINE_V3=true, i.e. the coordinator is a primary path. */
export const isFullPhase = (p: Phase) => ["staging-full", "prod-10", "prod-50", "prod-100"].includes(p);

/** How long each phase is watched at least (the verification checklist's "minimum N hours"; 7 days at 100 %
 * before the legacy path is removed) and how many bookings it must see (the task README: staging should see
 * 100+ bookings). Less is not a failure, but too little to judge by: the verdict is INCONCLUSIVE. */
export const MINIMUM: Record<Phase, { hours: number; bookings: number }> = {
  local: { hours: 0, bookings: 1 },
  "staging-shadow": { hours: 24, bookings: 100 },
  "staging-full": { hours: 48, bookings: 100 },
  "prod-shadow": { hours: 24, bookings: 1 },
  "prod-10": { hours: 24, bookings: 1 },
  "prod-50": { hours: 24, bookings: 1 },
  "prod-100": { hours: 168, bookings: 1 },
};

/** The gates of `phase` over a window of `windowHours` whose metrics are `m`. */
export function gatesFor(phase: Phase, m: Metrics, windowHours: number): Gate[] {
  const bookings = n(m.bookings) ?? 0;
  const measured = bookings > 0;
  const least = MINIMUM[phase];
  const ev = m.events ?? {};
  const ifMeasured = (v: unknown) => (measured ? v : null);
  const delta = (a: unknown, b: unknown) => (n(a) === null || n(b) === null ? null : Math.abs(n(a)! - n(b)!));
  const review = isFullPhase(phase) ? 1 : 10;
  // A restaurant switched off sends its bookings to review by design, for staff to seat: the confirmation and
  // review rates judge the pipeline's work, so the bookings only its switch sent to review leave both sides (as
  // ops.health's alarm leaves them out), and the gate says how many.
  const off = m.switched_off ?? {};
  const less = (v: unknown, by: unknown) => (n(v) === null ? null : n(v)! - (n(by) ?? 0));
  const leftOut = n(off.bookings)
    ? `; ${off.bookings} booking${
      n(off.bookings) === 1 ? "" : "s"
    } sent to review by a restaurant switched off left out`
    : "";

  const gates: Gate[] = [
    {
      // The window as given: the script cannot know when the phase began (its flags live in the functions'
      // environment), so a window must start then to mean the phase ran that long.
      metric: "Window length",
      target: `≥ ${least.hours}`,
      value: Math.round(windowHours * 10) / 10,
      unit: " h",
      outcome: windowHours >= least.hours ? "pass" : "no data",
      source:
        "verification checklist: each phase's minimum duration, the window starting when the phase began",
    },
    // The nightly prune keeps events for event_retention_days: a window reaching further back counts fewer
    // errors, breaker opens and transitions than happened, so what its event gates say cannot be trusted.
    ...keptWholeWindow(PRUNED_HOURS, m.from, m.events_kept_since, "events", "ops.set_event_retention"),
    {
      metric: "Bookings in the window",
      target: least.bookings > 1 ? `≥ ${least.bookings}` : "> 0",
      value: bookings,
      unit: "",
      outcome: bookings >= least.bookings ? "pass" : "no data",
      source: least.bookings > 1
        ? "task README: staging should see 100+ bookings"
        : "every phase is judged on traffic",
    },
    gate(
      "Confirmation rate",
      "≥ 95%",
      exactShare(
        less(m.confirmed, off.confirmed),
        less(m.not_cancelled, off.not_cancelled),
        m.confirmation_rate_pct,
      ),
      "%",
      (v) => v >= 95,
      "task README: success criteria, all phases; checklist phases 3, 5" + leftOut,
    ),
    gate(
      "Manual review rate",
      `< ${review}%`,
      exactShare(
        less(m.sent_to_review, off.sent_to_review),
        less(m.decided, off.decided),
        m.manual_review_rate_pct,
      ),
      "%",
      (v) => v < review,
      (isFullPhase(phase)
        ? "rollout report: full mode < 1% (stricter than the checklist's and task README's < 10%)"
        : "task README: success criteria, all phases") + leftOut,
    ),
    gate(
      "Error rate (attempts)",
      "< 1%",
      exactShare(m.errored_attempts, m.attempts, m.error_rate_pct),
      "%",
      (v) => v < 1,
      "task README: key metrics; checklist phase 5a",
    ),
    gate(
      "Event volume: bookings with state transitions ÷ bookings made",
      "100% ± 10%",
      measured ? (100 * (n(ev.bookings_with_transitions) ?? 0)) / bookings : null,
      "%",
      (v) => v >= 90 && v <= 110,
      "checklist phase 2: matches booking volume (±10%); task README",
    ),
    gate(
      // As many state-machine events as history rows for the window's bookings: one event per transition.
      "All expected state transitions present: transition events ÷ transitions recorded",
      "100%",
      exactShare(m.transitions?.events, m.transitions?.history, null),
      "%",
      (v) => v === 100,
      "checklist phase 2: all expected state transitions present in data",
    ),
    gate(
      "Coordinator errors",
      "0",
      ifMeasured(m.coordinator_errors),
      "",
      (v) => v === 0,
      "checklist phase 2 (target 0); rollout report",
    ),
    gate(
      "Circuit breaker opens",
      "0",
      ifMeasured(m.circuit_opens),
      "",
      (v) => v === 0,
      "task README (all phases); rollout report: no breaker trips",
    ),
    gate(
      "Stuck bookings",
      "0",
      ifMeasured(m.stuck),
      "",
      (v) => v === 0,
      "task README: stuck bookings alert; checklist phase 3",
    ),
    gate(
      "Duplicate confirmations",
      "0",
      ifMeasured(m.duplicate_confirmations),
      "",
      (v) => v === 0,
      "checklist phase 3: no duplicate e-mails",
    ),
  ];

  if (isShadowPhase(phase)) {
    const v3 = m.shadow?.v3 ?? {};
    // The comparisons are pruned on their own retention: a window reaching further back compares fewer
    // decisions, and counts fewer candidate errors, than were made.
    gates.push(
      ...keptWholeWindow(
        "Hours of the window whose shadow comparisons were pruned (shadow retention)",
        m.from,
        m.shadow_kept_since,
        "comparisons",
        "ops.set_retention",
      ),
    );
    gates.push(
      gate(
        "No assignment.coordinator events (legacy stays authoritative)",
        "0",
        ifMeasured(ev.coordinator),
        "",
        (v) => v === 0,
        "rollout report, shadow phases: only auto_assign.* events; runbook step 1",
      ),
      gate(
        "Shadow comparisons stored (shadow mode active)",
        "> 0",
        ifMeasured(n(v3.comparisons) ?? 0),
        "",
        (v) => v > 0,
        "checklist phases 2 and 4: shadow mode active",
      ),
      gate(
        // The plan's own comparison counts state-machine events, which legacy writes in shadow too, so it
        // would compare legacy with itself: the comparisons hold both decisions on the same snapshots.
        "Legacy vs V3 assign rate on the same snapshots: difference",
        "≤ 5 points",
        delta(v3.primary_assign_pct, v3.candidate_assign_pct),
        " points",
        (v) => v <= 5,
        "checklist phase 2: success rates comparable within ±5%; phase 4: success rate Δ within ±5%. " +
          "Without re-optimisation only candidate errors can move it: both seat exactly the bookings some free tables fit; " +
          "with it, V3 seating more by re-seating others fails it too (see comparison.md)",
      ),
      gate(
        "Legacy vs V3 manual review (escalate) rate: difference",
        "≤ 5 points",
        delta(v3.primary_escalate_pct, v3.candidate_escalate_pct),
        " points",
        (v) => v <= 5,
        "checklist phase 4: manual review Δ within ±5%. Without re-optimisation only candidate errors can move it",
      ),
      gate(
        "V3 candidate errors",
        "0",
        n(v3.comparisons) ? v3.candidate_errors : null,
        "",
        (v) => v === 0,
        "checklist phase 4: no shadow coordinator errors",
      ),
    );
  }

  if (isFullPhase(phase)) {
    gates.push(
      gate(
        "Success rate (attempts that seated the booking)",
        "≥ 97%",
        exactShare(m.successful_attempts, m.attempts, m.success_rate_pct),
        "%",
        (v) => v >= 97,
        "rollout report: full mode ≥ 97%; runbook",
      ),
      gate(
        "Assignment latency P95 (insert → confirmed)",
        "< 3000 ms",
        m.latency_ms?.p95,
        " ms",
        (v) => v < 3000,
        "checklist phase 3; performance budgets",
      ),
      gate(
        "Lock acquisition P95",
        "< 100 ms",
        m.lock_wait_p95_ms,
        " ms",
        (v) => v < 100,
        "checklist phase 3",
      ),
      gate(
        "Terminal states (confirmed, manual review, cancelled)",
        "> 95%",
        exactShare(m.terminal, m.bookings, m.terminal_pct),
        "%",
        (v) => v > 95,
        "checklist phase 3",
      ),
      ...(isPartialPhase(phase) ? [] : [gate(
        // A window that began before the phase did (the script cannot see when the flags changed) would judge
        // mostly legacy's bookings by V3's gates. The leeway is for the functions' instances taking up new flags.
        "Bookings decided by V3, of those a path decided (restaurants switched off left out)",
        "≥ 99%",
        ifMeasured(v3Share(m.modes)),
        "%",
        (v) => v >= 99,
        "checklist phase 3: coordinator is the primary assignment path; plan: all new bookings route through the coordinator",
      )]),
      gate(
        "assignment.coordinator events present (V3 is on the path)",
        "> 0",
        ifMeasured(ev.coordinator),
        "",
        (v) => v > 0,
        "rollout report, full mode; runbook step 2",
      ),
    );
  }
  // A window whose events were pruned in part has fewer events than happened: a gate failed by too few of them
  // is failed by the prune, not the pipeline, so it is "no data" (the pruned-hours gate already keeps such a
  // window from passing). A gate failed by events that are there (an error, a breaker opening) still fails.
  const pruned = gates.some((g) => g.metric === PRUNED_HOURS && g.outcome === "no data");
  return pruned
    ? gates.map((g) =>
      g.outcome === "fail" && g.value !== null &&
        PRUNE_MAY_FAIL.some(([name, short]) => g.metric.startsWith(name) && short(g.value!))
        ? { ...g, outcome: "no data" as const }
        : g
    )
    : gates;
}

const PRUNED_HOURS = "Hours of the window whose events were pruned (event retention)";
/** The gates counted from events that a prune can fail, each with the values a shortfall of events gives. */
const PRUNE_MAY_FAIL: [string, (v: number) => boolean][] = [
  ["Event volume", (v) => v < 90],
  ["All expected state transitions present", (v) => v < 100],
  ["assignment.coordinator events present", (v) => v === 0],
  // A percentile of the waits left: the pruned ones may have been quicker or slower.
  ["Lock acquisition P95", () => true],
];

/** Phases where V3 runs for some restaurants only (the rollout percentage): a number over the whole fleet,
 * most of it on the legacy path, would hide how V3 does, which is what these phases decide. */
export const isPartialPhase = (p: Phase) => p === "prod-10" || p === "prod-50";

/** Every gate of `phase`: over the whole fleet (`fleet`), and in a partial phase over the bookings V3 decided
 * (`v3`, ops.pipeline_metrics with p_mode 'v3') as well, named "V3 restaurants: …". */
export function allGatesFor(phase: Phase, fleet: Metrics, v3: Metrics | null, windowHours: number): Gate[] {
  const gates = gatesFor(phase, fleet, windowHours);
  if (!isPartialPhase(phase)) return gates;
  return [
    ...gates,
    ...gatesFor(phase, v3 ?? {}, windowHours)
      .filter((g) => g.metric !== "Window length")
      .map((g) => ({ ...g, metric: `V3 restaurants: ${g.metric}` })),
  ];
}

export function verdictOf(gates: Gate[]): Verdict {
  if (gates.some((g) => g.outcome === "fail")) return "FAIL";
  if (gates.some((g) => g.outcome === "no data")) return "INCONCLUSIVE";
  return "PASS";
}

/** Exit status: 0 pass, 1 a gate failed, 2 inconclusive (something could not be measured). */
export const EXIT_CODE: Record<Verdict, number> = { PASS: 0, FAIL: 1, INCONCLUSIVE: 2 };
