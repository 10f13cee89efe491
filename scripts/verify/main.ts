// Verification report for one phase of the rollout plan, filled from real data for a time window (and
// optionally one restaurant). Writes, into --out:
//   verification-report.md     every gate of the phase against its target, with the verdict
//   observability-export.csv   every event of the window (the checklist's 24-hour events export)
//   observability-sample.json  the events of one confirmed booking
//   booking-states.csv         bookings by assignment state
//   comparison.md              shadow phases: legacy vs V3 on the same snapshots
// Exit status: 0 PASS, 1 FAIL (a gate failed), 2 INCONCLUSIVE (something could not be measured, e.g. an
// empty window), 64 bad arguments. Usage:
//   deno run -A scripts/verify/main.ts [--since 24h | --from ISO --to ISO] [--phase staging-full]
//     [--restaurant UUID] [--out DIR] [--db-url URL]
import { parseArgs } from "node:util";
import { postgres } from "../../shared/deps.ts";
import {
  allGatesFor,
  EXIT_CODE,
  type Gate,
  isPartialPhase,
  isShadowPhase,
  type Phase,
  PHASES,
  verdictOf,
} from "./gates.ts";
import { parsedOr } from "../bench/options.ts";

function usage(message: string): never {
  console.error(`verify-rollout: ${message}`);
  Deno.exit(64);
}

// An unknown or mistyped option is a usage error (64), not a stack trace.
const { values: args } = parsedOr(usage, () =>
  parseArgs({
    options: {
      since: { type: "string" },
      from: { type: "string" },
      to: { type: "string" },
      phase: { type: "string", default: "local" },
      restaurant: { type: "string" },
      out: { type: "string" },
      "db-url": { type: "string" },
    },
  }));
const phase = args.phase as Phase;
if (!PHASES.includes(phase)) usage(`--phase must be one of ${PHASES.join(", ")}`);
if (args.since && (args.from || args.to)) usage("give either --since or --from/--to, not both");
if (Boolean(args.from) !== Boolean(args.to)) usage("--from and --to go together");
const since = (args.since ?? "24h").match(/^(\d+)(h|d)$/);
if (!args.from && !since) usage("--since takes hours or days, e.g. 24h or 7d");
for (const t of [args.from, args.to]) if (t && Number.isNaN(Date.parse(t))) usage(`not a timestamp: ${t}`);
if (args.restaurant && !/^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$/i.test(args.restaurant)) {
  usage("--restaurant takes a restaurant id (UUID)");
}
const dbUrl = args["db-url"] ?? Deno.env.get("SUPABASE_DB_URL") ??
  "postgresql://postgres:postgres@127.0.0.1:54322/postgres";
/** host:port/database of a connection URL; for several hosts (postgres.js takes a list), the list as given. */
function databaseJudged(url: string): string {
  const [, hosts = "?", path = ""] = url.match(/^[a-z]+:\/\/(?:[^@/]*@)?([^/?#]*)(\/[^?#]*)?/i) ?? [];
  return `${hosts}${path}`;
}
const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
const out = args.out ?? `.stack/verification/${phase}-${stamp}`;
const restaurant = args.restaurant ?? null;

const sql = postgres(dbUrl, { prepare: false, max: 2, onnotice: () => {} });
// A window that ends later than now ends now: the hours not yet watched must not count towards the phase's
// minimum (a --to at the phase's planned end would otherwise pass the window length on its first hours).
const [{ from, to, ahead }] = args.from
  ? await sql`select ${args.from!}::timestamptz as from, least(${args.to!}::timestamptz, now()) as to,
                     ${args.to!}::timestamptz > now() as ahead`
  : await sql`select now() - make_interval(hours => ${
    Number(since![1]) * (since![2] === "d" ? 24 : 1)
  }) as from,
                     now() as to, false as ahead`;
if (from >= to) {
  await sql.end();
  usage(
    ahead
      ? `--from ${args.from} is not before now: there is no window to judge yet`
      : "--from must be before --to",
  );
}
const windowLabel = args.from ? `--from ${args.from} --to ${args.to}` : `--since ${args.since ?? "24h"}`;
const [{ m }] = await sql`select ops.pipeline_metrics(${from}, ${to}, ${restaurant}::uuid) as m`;
// At 10 % and 50 % the gates judge the bookings V3 decided as well as the fleet's.
const v3 = isPartialPhase(phase)
  ? (await sql`select ops.pipeline_metrics(${from}, ${to}, ${restaurant}::uuid, 'v3') as m`)[0].m
  : null;
const shadow = await sql`
  select * from ops.shadow_report(${from}, ${to})
   where ${restaurant}::uuid is null and restaurant_id is null or restaurant_id = ${restaurant}::uuid
   order by experiment`;
const states = await sql`
  select assignment_state, count(*)::int as count, round(100.0 * count(*) / sum(count(*)) over (), 2) as percentage
    from public.bookings
   where created_at >= ${from} and created_at < ${to} and (${restaurant}::uuid is null or restaurant_id = ${restaurant}::uuid)
   group by 1 order by 2 desc, 1`;
const [sample] = await sql`
  select b.id from public.bookings b
   where b.created_at >= ${from} and b.created_at < ${to} and b.assignment_state = 'confirmed'
     and (${restaurant}::uuid is null or b.restaurant_id = ${restaurant}::uuid)
   order by b.created_at desc limit 1`;
const sampleEvents = sample
  ? await sql`
      select created_at, source, event_type, severity, context from public.observability_events
       where booking_id = ${sample.id} order by id`
  : [];

const gates = allGatesFor(phase, m, v3, (to.getTime() - from.getTime()) / 3_600_000);
const verdict = verdictOf(gates);
const show = (g: Gate) => (g.value === null ? "n/a" : `${Math.round(g.value * 100) / 100}${g.unit}`);
const count = (o: Gate["outcome"]) => gates.filter((g) => g.outcome === o).length;
const iso = (t: Date) => new Date(t).toISOString();

await Deno.mkdir(out, { recursive: true });
const exported = await exportEvents(`${out}/observability-export.csv`);

const report = [
  `# Verification report: ${phase}`,
  ``,
  `Window: ${iso(from)} → ${iso(to)}${
    ahead ? ` (now: --to ${args.to} is later, and hours not yet watched do not count)` : ""
  }${restaurant ? `, restaurant ${restaurant}` : ", all restaurants"}. ` +
  `Generated by \`scripts/verify-rollout ${windowLabel} --phase ${phase}${
    restaurant ? ` --restaurant ${restaurant}` : ""
  }\`.`,
  // Which database was judged (no user or password): the wrapper points the local tools at the local stack, so
  // a report read later says whether it came from --db-url.
  `Database: ${databaseJudged(dbUrl)}.`,
  ``,
  `**Verdict: ${verdict}** (${gates.length} gates: ${count("pass")} passed, ${count("fail")} failed, ` +
  `${count("no data")} without data)`,
  ...(verdict === "INCONCLUSIVE"
    ? [``, `A gate without data does not pass: widen the window or wait for traffic before deciding.`]
    : []),
  ``,
  `| gate | target | measured | result | from |`,
  `| --- | --- | ---: | --- | --- |`,
  ...gates.map((g) =>
    `| ${g.metric} | ${g.target} | ${show(g)} | ${
      g.outcome === "fail" ? "**fail**" : g.outcome === "no data" ? "_no data_" : "pass"
    } | ${g.source} |`
  ),
  ``,
  `Bookings ${m.bookings} (cancelled ${m.cancelled}), confirmed ${m.confirmed}, manual review ${m.manual_review}, ` +
  `attempts ${m.attempts}; latency p50 ${m.latency_ms?.p50 ?? "n/a"} ms, p95 ${
    m.latency_ms?.p95 ?? "n/a"
  } ms, ` +
  `p99 ${m.latency_ms?.p99 ?? "n/a"} ms; rate-limited retries ${m.rate_limited} (expected when more than ` +
  `max_parallel bookings of a restaurant arrive together); notifications sent ${m.notifications_sent}. ` +
  `Events ${m.events?.total} (state transitions ${m.events?.state_transitions}, coordinator ${m.events?.coordinator}, ` +
  `auto_assign ${m.events?.auto_assign}). Modes: ${JSON.stringify(m.modes ?? {})}.`,
  ...(v3
    ? [
      ``,
      `Of them decided by V3 (the gates named "V3 restaurants"): bookings ${v3.bookings} (cancelled ${v3.cancelled}), ` +
      `confirmed ${v3.confirmed}, manual review ${v3.manual_review}, attempts ${v3.attempts}; latency p95 ` +
      `${v3.latency_ms?.p95 ?? "n/a"} ms.`,
    ]
    : []),
  ``,
  `## Bookings by assignment state`,
  ``,
  `| state | count | % |`,
  `| --- | ---: | ---: |`,
  ...states.map((s) => `| ${s.assignment_state} | ${s.count} | ${s.percentage}% |`),
  ``,
  ...(shadow.length === 0 ? [] : [
    `## Shadow comparison`,
    ``,
    `| experiment | comparisons | same tables | same decision, other tables | different decision | candidate errors | avg score diff |`,
    `| --- | ---: | ---: | ---: | ---: | ---: | ---: |`,
    ...shadow.map((s) =>
      `| ${s.experiment} | ${s.comparisons} | ${s.same_tables_pct}% | ${s.same_decision_different_tables_pct}% | ` +
      `${s.different_decision_pct}% | ${s.candidate_errors} | ${s.avg_score_diff ?? "n/a"} |`
    ),
    ``,
    `An \`aa\` row is legacy planned twice on the same snapshot: its mismatch rate shows planner nondeterminism ` +
    `(expected 0) and its duration spread the timing noise, against which the \`v3\` row is judged.`,
    ``,
  ]),
  `## Artifacts`,
  ``,
  `- \`observability-export.csv\`: all ${exported} events of the window (the checklist's events export)`,
  `- \`observability-sample.json\`: every event of one confirmed booking${
    sample ? ` (${sample.id})` : " (none in the window)"
  }`,
  `- \`booking-states.csv\`: bookings by assignment state`,
  ...(isShadowPhase(phase) ? [`- \`comparison.md\`: legacy vs V3 on the same snapshots`] : []),
  ``,
].join("\n");

await Deno.writeTextFile(`${out}/verification-report.md`, report);
await Deno.writeTextFile(`${out}/observability-sample.json`, JSON.stringify(sampleEvents, null, 2) + "\n");
await Deno.writeTextFile(
  `${out}/booking-states.csv`,
  [
    "assignment_state,count,percentage",
    ...states.map((s) => `${s.assignment_state},${s.count},${s.percentage}`),
  ]
    .join("\n") + "\n",
);
if (isShadowPhase(phase)) await Deno.writeTextFile(`${out}/comparison.md`, comparison());
await sql.end();
console.log(report);
console.error(`${verdict}: written to ${out}/`);
Deno.exit(EXIT_CODE[verdict]);

/** Every event of the window as CSV, streamed so a busy day does not have to fit in memory. */
async function exportEvents(path: string): Promise<number> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const encoder = new TextEncoder();
  const write = (line: string) => file.write(encoder.encode(line + "\n"));
  let rows = 0;
  try {
    await write("id,created_at,source,event_type,severity,restaurant_id,booking_id,context");
    const cursor = sql`
      select id, created_at, source, event_type, severity, restaurant_id, booking_id, context
        from public.observability_events
       where created_at >= ${from} and created_at < ${to}
         and (${restaurant}::uuid is null or restaurant_id = ${restaurant}::uuid)
       order by created_at, id`.cursor(1000);
    for await (const batch of cursor) {
      for (const e of batch) {
        await write(
          [
            e.id,
            iso(e.created_at),
            e.source,
            e.event_type,
            e.severity,
            e.restaurant_id ?? "",
            e.booking_id ?? "",
            JSON.stringify(e.context),
          ].map(csv).join(","),
        );
        rows++;
      }
    }
  } finally {
    file.close();
  }
  return rows;
}

function csv(value: unknown): string {
  const s = String(value);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** The checklist's "legacy vs. shadow" table, from the comparisons stored on the same snapshots. */
function comparison(): string {
  const v3 = m.shadow?.v3;
  const aa = m.shadow?.aa;
  const lvc = m.legacy_vs_coordinator ?? {};
  const row = (name: string, legacy: unknown, candidate: unknown, unit: string) => {
    const d = legacy === null || legacy === undefined || candidate === null || candidate === undefined
      ? "n/a"
      : `${Math.round((Number(candidate) - Number(legacy)) * 1000) / 1000}${unit}`;
    return `| ${name} | ${legacy ?? "n/a"}${legacy == null ? "" : unit} | ${candidate ?? "n/a"}${
      candidate == null ? "" : unit
    } | ${d} |`;
  };
  return [
    `# Legacy vs. shadow: ${phase}`,
    ``,
    `Window ${iso(from)} → ${iso(to)}${
      restaurant ? `, restaurant ${restaurant}` : ""
    }. Legacy assigned every ` +
    `booking; V3 planned each on the same snapshot and wrote nothing (public.shadow_comparisons).`,
    ``,
    `| metric | legacy | shadow (V3) | Δ |`,
    `| --- | ---: | ---: | ---: |`,
    row("Success rate (assign) %", v3?.primary_assign_pct, v3?.candidate_assign_pct, "%"),
    row("Manual review (escalate) %", v3?.primary_escalate_pct, v3?.candidate_escalate_pct, "%"),
    row("Avg planning time (ms)", v3?.primary_avg_ms, v3?.candidate_avg_ms, " ms"),
    ``,
    `Comparisons: ${v3?.comparisons ?? 0} bookings (${
      v3?.attempts_compared ?? 0
    } attempts; the rates are over the bookings, errors and times over the attempts); same tables ${
      v3?.same_tables_pct ?? "n/a"
    }%, different decision ` +
    `${v3?.different_decision_pct ?? "n/a"}%; candidate errors ${v3?.candidate_errors ?? 0}.` +
    (aa
      ? ` A/A noise floor (legacy twice): ${aa.comparisons} comparisons, same tables ${aa.same_tables_pct}%, ` +
        `planning ${aa.primary_avg_ms} vs ${aa.candidate_avg_ms} ms.`
      : ` No A/A run in this window (ops.set_shadow_candidate('aa', …) measures the noise floor).`),
    ``,
    `The plan's "Compare success rates" query over the same window: legacy summaries ` +
    `${lvc.legacy?.successes ?? 0}/${lvc.legacy?.total ?? 0} succeeded (${
      lvc.legacy?.success_rate ?? "n/a"
    }%), ` +
    `state machine ${lvc.coordinator_shadow?.successes ?? 0}/${
      lvc.coordinator_shadow?.total ?? 0
    } confirmed ` +
    `(${
      lvc.coordinator_shadow?.success_rate ?? "n/a"
    }%). As written in the plan that query divides by zero when ` +
    `the window has no auto_assign.summary; ops.legacy_vs_coordinator_24h and ops.shadow_report answer it safely. ` +
    `In shadow the state machine records legacy's outcome, so that query compares legacy with itself; the gates compare legacy and V3 on the same snapshots (shadow comparisons).`,
    ``,
    `Where re-optimisation is off, legacy and V3 seat exactly the same bookings (every strategy ranks the same ` +
    `arrangements of free tables), so the assign and manual-review rows can differ only by candidate errors: ` +
    `V3's choices show in the tables (same tables, score difference), and what they leave free for later ` +
    `parties in no comparison on one snapshot. Where it is on, V3 may seat a booking by re-seating others.`,
    ``,
    `Planning times are microseconds to milliseconds of CPU in the function (V3's re-seating search, where ` +
    `re-optimisation is on, up to ASSIGNMENT_SEARCH_BUDGET_MS), so they are reported, not gated.`,
    ``,
  ].join("\n");
}
