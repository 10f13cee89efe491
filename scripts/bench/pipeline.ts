// Pipeline benchmark: drives bookings through the real path (INSERT → trigger → pg_net → function →
// RPCs) on a schedule, waits until every booking is terminal, then reads every timing back from Postgres
// and what the run cost (pg_stat_statements, pg_stat_database, /proc), and writes JSON + Markdown.
// Profiles:
//   spread   (default) bookings spread over 10 restaurants and 60 days, inserted evenly: the steady state
//   crowded  every booking for one restaurant's evening tomorrow, each second's bookings together:
//            conflicts, rate limiting and lock waits show up
//   overload spread demand at 2 × the capacity for --seconds: goodput per 5 s window over the whole run,
//            the backlog's drain afterwards, re-dispatches. The capacity is measured first, as the most
//            goodput of a curve over --rates (20 s a point) on the same database, unless --rate names it
//   drop     --bookings (300) for one restaurant's evening (a 60-table room) inserted within one second:
//            every booking terminal, insert→terminal, double bookings, most in progress vs max_parallel
//   curve    spread at rising offered rates (--rates), --seconds (20) each, each point over restaurants of
//            its own, until goodput falls below 90 % of offered; also writes an SVG of goodput and p95
// --dispatch local|hosted: the pg_net stand-in delivers at once, or waits 1 s between batches while busy
// as hosted pg_net's worker does (PG_NET_BATCH_DELAY_MS=1000).
// Usage: deno run -A scripts/bench/pipeline.ts [--profile spread|crowded|overload|drop|curve] [--rate 20
// (overload: measured unless given)]
// [--seconds 60] [--restaurants 10 (crowded, drop: 1)] [--bookings 300] [--tables 60 (drop: the room, a
// multiple of 20)] [--rates 20,50,100,…]
// [--dispatch local|hosted] [--out scripts/bench/results] [--name pipeline[-<profile>][-hosted]] [--check (only
// check the options, as scripts/bench-pipeline does before it resets the database)]
import { parseArgs } from "node:util";
import { connect, STACK_DIR } from "../../shared/testing/stack.ts";
import { seededRandom, weighted } from "../../shared/testing/random.ts";
import {
  arrivalOrder,
  createRestaurants,
  drain,
  maxParallel,
  type Offer,
  offer,
  outcomes,
  Progress,
  sampleInProgress,
  storagePerBooking,
  timings,
} from "./pipeline/drive.ts";
import {
  coresBusy,
  counters,
  endWindow,
  pipelineStatements,
  stackProcesses,
  startWindow,
  statementPhases,
  statementsAvailable,
} from "./pipeline/measure.ts";
import {
  coresTable,
  curveTable,
  phaseTable,
  type Run,
  runSection,
  type Target,
  targetTable,
  windowTable,
} from "./pipeline/report.ts";
import {
  goodputWindows,
  keptUp,
  measuredCapacity,
  nextProbeRate,
  rateBetween,
  round,
  summary,
} from "./pipeline/stats.ts";
import { curveChart } from "./pipeline/svg.ts";
import { describeRun, runContext } from "./run-context.ts";
import { optionError, parsedOr } from "./options.ts";

const PROFILES = ["spread", "crowded", "overload", "drop", "curve"] as const;
type Profile = typeof PROFILES[number];
const fail = optionError("scripts/bench-pipeline");
const { values: args } = parsedOr(fail, () =>
  parseArgs({
    options: {
      check: { type: "boolean", default: false },
      profile: { type: "string", default: "spread" },
      rate: { type: "string" },
      seconds: { type: "string" },
      restaurants: { type: "string" },
      bookings: { type: "string", default: "300" },
      tables: { type: "string", default: "60" },
      rates: { type: "string", default: "20,50,100,150,200,300,400,500,600,800,1000" },
      dispatch: { type: "string", default: "local" },
      out: { type: "string", default: "scripts/bench/results" },
      name: { type: "string" },
    },
  }));
const PROFILE = args.profile as Profile;
if (!PROFILES.includes(PROFILE)) fail(`--profile must be one of ${PROFILES.join(", ")}`);
const DISPATCH = args.dispatch as "local" | "hosted";
if (DISPATCH !== "local" && DISPATCH !== "hosted") fail("--dispatch must be local or hosted");
const RATE = Number(args.rate ?? 20);
// The overload profile's capacity: the one --rate names, or measured by a curve before the run.
const CAPACITY_GIVEN = args.rate !== undefined;
const SECONDS = Number(args.seconds ?? (PROFILE === "curve" ? 20 : 60));
const RESTAURANTS = Number(args.restaurants ?? (PROFILE === "crowded" || PROFILE === "drop" ? 1 : 10));
const BOOKINGS = Number(args.bookings);
const TABLES = Number(args.tables);
const RATES = args.rates!.split(",").map(Number);
// Bounded as well as positive: every value is checked before the wrapper resets the database, and a rate of
// Infinity or 1e9 would queue its inserts without end, 0.001 measure no booking at all.
if (![RATE, ...RATES].every((x) => x > 0 && x <= 5000)) {
  fail("--rate and --rates must be positive, at most 5000");
}
if (!(Number.isInteger(SECONDS) && SECONDS > 0 && SECONDS <= 3600)) {
  fail("--seconds must be an integer 1–3600");
}
if (!(Number.isInteger(RESTAURANTS) && RESTAURANTS > 0 && RESTAURANTS <= 1000)) {
  fail("--restaurants must be an integer 1–1000");
}
if (!(Number.isInteger(BOOKINGS) && BOOKINGS > 0 && BOOKINGS <= 100_000)) {
  fail("--bookings must be an integer 1–100000");
}
// The drop's room is copies of the 20-table room (drive.ts).
if (!(Number.isInteger(TABLES) && TABLES % 20 === 0 && TABLES >= 20 && TABLES <= 1000)) {
  fail("--tables must be a multiple of 20 from 20 to 1000");
}
// A point of the overload profile's capacity probe holds as long as one of the curve's.
const CAPACITY_PROBE_SECONDS = 20;
const RATES_SECONDS = PROFILE === "overload" ? CAPACITY_PROBE_SECONDS : SECONDS;
if (Math.round(RATE * SECONDS) < 1 || RATES.some((rate) => Math.round(rate * RATES_SECONDS) < 1)) {
  fail(
    `--rate × --seconds, and each of --rates × ${RATES_SECONDS} s a point, must offer at least one booking`,
  );
}
const NAME = args.name ??
  ["pipeline", ...(PROFILE === "spread" ? [] : [PROFILE]), ...(DISPATCH === "hosted" ? ["hosted"] : [])].join(
    "-",
  );
// Checked before the run, not when the results are written minutes later: a name is a file name in --out.
if (!/^[\w.-]+$/.test(NAME)) {
  fail("--name is a file name (letters, digits, . _ -); choose the directory with --out");
}
if (args.check) Deno.exit(0);
// hosted pg_net's worker waits up to a second between batches while busy.
const BATCH_DELAY_MS = DISPATCH === "hosted" ? 1000 : 0;

// The machine may be shared: its load when the run starts goes into the report.
const context = await runContext();
const admin = connect(3);
const pool = connect(16);
// Every connection open before any window starts: a new connection's type lookup is the client's, not the
// pipeline's, and would otherwise show among the top statements.
await Promise.all([
  ...Array.from({ length: 16 }, () => pool`/* bench */ select pg_sleep(0.05)`),
  ...Array.from({ length: 3 }, () => admin`/* bench */ select pg_sleep(0.05)`),
]);
const dispatcher = await startDispatcher();
await warmUp();
const procs = await stackProcesses(admin, STACK_DIR);
const STATEMENTS = await statementsAvailable(admin);
if (!STATEMENTS) {
  console.warn(
    "pg_stat_statements is not loaded (scripts/db restart loads it): no database time per booking.",
  );
}

/**
 * Before any window: 48 bookings through the whole path for a restaurant of their own, three on each of the
 * pool's connections, left out of every figure. A platform's connections and a running coordinator have
 * compiled and planned the pipeline's functions long before a reservation drop; without this the drop's one
 * second also paid for 16 + 5 new backends doing that (about 25 ms of CPU each).
 */
async function warmUp(): Promise<void> {
  const [restaurant] = await createRestaurants(admin, 1);
  const progress = new Progress(admin, "warm-up ");
  const offered = await offer(pool, {
    total: 48,
    dueMs: () => 0,
    booking: (i) => ({ restaurant: restaurant.id, day: 90 + i, quarter: 19 * 4, party: 2 }),
  }, progress);
  await drain(progress, 30, 120);
  if (offered.insert_errors > 0) throw new Error("the warm-up's inserts failed; see above");
}

/** Restarts the stack's pg_net stand-in worker with the chosen batch delay (absent with the real pg_net). */
async function startDispatcher(): Promise<string> {
  const [{ real }] = await admin`select exists (select 1 from pg_extension where extname = 'pg_net') as real`;
  if (real) return "pg_net extension (its own batching)";
  for (const command of ["stop-worker", "start-worker"]) {
    const ok = await new Deno.Command("scripts/stack", {
      args: [command],
      env: { PG_NET_BATCH_DELAY_MS: String(BATCH_DELAY_MS) },
      stdout: "null",
    }).output();
    if (!ok.success) throw new Error(`scripts/stack ${command} failed`);
  }
  return BATCH_DELAY_MS
    ? `pg_net stand-in waiting ${BATCH_DELAY_MS} ms between batches while busy, as hosted pg_net`
    : "pg_net stand-in delivering at once (hosted pg_net adds 0–1 s of dispatch delay)";
}

const random = seededRandom(7);
const party = () => weighted(random, [[2, 50], [3, 10], [4, 25], [5, 8], [6, 7]]);
const evening = () => 17 * 4 + Math.floor(random() * 20); // 17:00–21:45

/** Spread demand: even arrivals over the restaurants and the next 60 days. */
function spread(restaurants: string[], rate: number, seconds: number): Offer {
  return {
    total: Math.round(rate * seconds),
    dueMs: (i) => (i * 1000) / rate,
    booking: (i) => ({
      restaurant: restaurants[i % restaurants.length],
      day: 1 + Math.floor(random() * 60),
      quarter: evening(),
      party: party(),
    }),
  };
}

/** Tomorrow evening at the restaurants in turn; `burst`: each second's bookings arrive together. */
function oneEvening(restaurants: string[], total: number, rate: number, burst: boolean): Offer {
  return {
    total,
    dueMs: (i) => (burst ? Math.floor(i / rate) * 1000 : (i * 1000) / rate),
    booking: (i) => ({
      restaurant: restaurants[i % restaurants.length],
      day: 1,
      quarter: evening(),
      party: party(),
    }),
  };
}

/**
 * Spread demand at each of `rates` for `seconds` each, each point over restaurants of its own, until a point's
 * goodput falls below 90 % of what it was offered (past the knee). The earlier points' bookings stay, as a
 * production database keeps its bookings; emptying the tables between points instead (truncate) left the
 * next points measuring plans made for the emptied tables (100/s after two cleared points gave 79.2/s, on a
 * fresh database 100/s, the same hour; docs/benchmarks.md).
 */
async function curve(rates: number[], seconds: number): Promise<Run[]> {
  const points: Run[] = [];
  for (const rate of rates) {
    points.push(await curvePoint(rate, seconds));
    if (!keptUp(points.at(-1)!)) break;
  }
  return points;
}

async function curvePoint(rate: number, seconds: number): Promise<Run> {
  const restaurants = (await createRestaurants(admin, RESTAURANTS)).map((r) => r.id);
  return (await measure(`curve ${rate}/s`, spread(restaurants, rate, seconds), rate)).run;
}

/**
 * The overload profile's capacity probe: the curve, then up to two points halfway between the highest rate it
 * kept up with and the first it did not (nextProbeRate), in order of rate.
 */
async function probeCapacity(rates: number[], seconds: number): Promise<Run[]> {
  const points = await curve(rates, seconds);
  for (let i = 0; i < 2; i++) {
    const rate = nextProbeRate(points);
    if (rate === null) break;
    points.push(await curvePoint(rate, seconds));
  }
  return points.sort((a, b) => a.planned_rate_per_s - b.planned_rate_per_s);
}

/** One measured run: offer, drain, then every figure of it. */
async function measure(label: string, plan: Offer, plannedRate: number, sample?: string) {
  console.log(`${label}: offering ${plan.total} bookings at ${plannedRate}/s…`);
  const start = await startWindow(admin, procs);
  const progress = new Progress(admin);
  const stopSampling = sample ? sampleInProgress(admin, sample) : null;
  const offered = await offer(pool, plan, progress);
  const atOfferEnd = await counters(admin, procs);
  const statementsAtOfferEnd = STATEMENTS ? await pipelineStatements(admin) : null;
  await drain(progress, 60, 900);
  const drained = await counters(admin, procs);
  const statementsDrained = STATEMENTS ? await pipelineStatements(admin) : null;
  const sampled = await stopSampling?.();
  const cost = await endWindow(admin, procs, start, offered.ids.length);
  const t = await timings(admin, offered.ids, offered.started);
  const offerEnd = (offered.ended - offered.started) / 1000;
  const terminal = t.flatMap((x) => (x.terminal === null ? [] : [x.terminal]));
  const confirmed = t.flatMap((x) => (x.confirmed === null ? [] : [x.confirmed]));
  const lastTerminal = terminal.reduce((a, x) => Math.max(a, x), offerEnd);
  const o = await outcomes(admin, offered.ids);
  const run: Run = {
    planned_rate_per_s: plannedRate,
    offered_rate_per_s: round(offered.ids.length / offerEnd),
    bookings: offered.ids.length,
    insert_errors: offered.insert_errors,
    offered_seconds: round(offerEnd, 2),
    // After a warm-up of the window's first quarter: in a steady state bookings leave as fast as they come,
    // but the first ones take their latency to leave, which would count against a short window.
    goodput_per_s: rateBetween(terminal, offerEnd / 4, offerEnd),
    confirmed_per_s: rateBetween(confirmed, offerEnd / 4, offerEnd),
    goodput_windows: goodputWindows(terminal, 5, lastTerminal),
    drain_s: round(lastTerminal - offerEnd, 2),
    all_terminal: o.open === 0 && offered.insert_errors === 0,
    insert_to_confirmed_ms: summary(
      t.flatMap((x) => (x.confirmed === null ? [] : [(x.confirmed - x.inserted) * 1000])),
    ),
    insert_to_terminal_ms: summary(
      t.flatMap((x) => (x.terminal === null ? [] : [(x.terminal - x.inserted) * 1000])),
    ),
    dispatch_delay_ms: summary(
      t.flatMap((x) => (x.started === null ? [] : [(x.started - x.inserted) * 1000])),
    ),
    processing_ms: summary(
      t.flatMap((
        x,
      ) => (x.started === null || x.confirmed === null ? [] : [(x.confirmed - x.started) * 1000])),
    ),
    cores_busy: { offered: coresBusy(start, atOfferEnd), draining: coresBusy(atOfferEnd, drained) },
    statements_by_phase: statementsAtOfferEnd && statementsDrained
      ? statementPhases(statementsAtOfferEnd, statementsDrained)
      : null,
    outcomes: o,
    cost,
  };
  return {
    run,
    ids: offered.ids,
    sampled,
    backlogAtOfferEnd: t.filter((x) => x.terminal === null || x.terminal > offerEnd).length,
  };
}

const options = {
  profile: PROFILE,
  dispatch: DISPATCH,
  ...(PROFILE === "drop"
    ? { bookings: BOOKINGS, tables: TABLES }
    : PROFILE === "curve" || (PROFILE === "overload" && !CAPACITY_GIVEN)
    ? { seconds: SECONDS }
    : { rate_per_s: RATE, seconds: SECONDS }),
  ...(PROFILE === "curve" || (PROFILE === "overload" && !CAPACITY_GIVEN) ? { rates_per_s: RATES } : {}),
  ...(PROFILE === "drop" ? {} : { restaurants: RESTAURANTS }),
};
const header = {
  benchmark: "pipeline",
  ...context,
  options,
  dispatcher,
  statements: "pg_stat_statements, top-level statements; pg_cron 1.4's sleeping sweeper CALL left out",
};
const flags = [
  ...(PROFILE === "spread" ? [] : [`--profile ${PROFILE}`]),
  ...Object.entries(options).filter(([k]) => !["profile", "dispatch"].includes(k)).map(([k, v]) =>
    `--${k.replace(/_per_s$/, "")} ${Array.isArray(v) ? v.join(",") : v}`
  ),
  ...(DISPATCH === "hosted" ? ["--dispatch hosted"] : []),
  ...(args.name ? [`--name ${NAME}`] : []),
];
const lines = [
  `# Pipeline benchmark: ${PROFILE}`,
  ``,
  `${describeRun(context)} · ` +
  `options ${flags.join(" ") || "(defaults)"} · dispatcher: ${dispatcher}.`,
  ``,
];
let result: Record<string, unknown> = header;
let svg: string | null = null;

if (PROFILE === "spread" || PROFILE === "crowded") {
  const restaurants = (await createRestaurants(admin, RESTAURANTS)).map((r) => r.id);
  const plan = PROFILE === "spread"
    ? spread(restaurants, RATE, SECONDS)
    : oneEvening(restaurants, Math.round(RATE * SECONDS), RATE, true);
  const { run, ids } = await measure(PROFILE, plan, RATE);
  const storage = await storagePerBooking(admin, ids);
  const sum = (k: "row_bytes_per_booking" | "disk_bytes_per_booking") =>
    Object.values(storage).reduce((a, x) => a + x[k], 0);
  const crowded = PROFILE === "crowded";
  const targets: Target[] = [
    ...(crowded ? [] : [{
      name: "goodput ≥ 95 % of offered",
      ok: run.goodput_per_s >= 0.95 * run.offered_rate_per_s,
      measured: `${run.goodput_per_s}/s`,
    }]),
    {
      name: "p95 insert→confirmed ≤ 250 ms",
      ok: run.insert_to_confirmed_ms.p95 <= 250,
      measured: `${run.insert_to_confirmed_ms.p95} ms`,
    },
    {
      name: "p99 insert→confirmed ≤ 1000 ms",
      ok: run.insert_to_confirmed_ms.p99 <= 1000,
      measured: `${run.insert_to_confirmed_ms.p99} ms`,
    },
    {
      name: "lock/slot wait p95 ≤ 20 ms",
      ok: Math.max(run.outcomes.lock_wait_p95_ms, run.outcomes.slot_wait_p95_ms) <= 20,
      measured: `${run.outcomes.lock_wait_p95_ms} / ${run.outcomes.slot_wait_p95_ms} ms`,
    },
    ...(crowded || RATE > 20 ? [] : [{
      name: "database time per booking ≤ 4 ms (at 20/s)",
      ok: (run.cost.db_ms_per_booking ?? Infinity) <= 4,
      measured: `${run.cost.db_ms_per_booking} ms`,
    }]),
    {
      name: "double bookings = 0",
      ok: run.outcomes.double_bookings === 0,
      measured: `${run.outcomes.double_bookings}`,
    },
    {
      name: "seating faults = 0",
      ok: run.outcomes.seating_faults === 0,
      measured: `${run.outcomes.seating_faults}`,
    },
    { name: "every booking terminal", ok: run.all_terminal, measured: `${run.outcomes.open} open` },
  ];
  result = { ...header, run, targets, storage_per_booking: storage };
  lines.push(
    crowded
      ? `Every booking is for one evening (tomorrow 17:00–21:45) and each second's bookings arrive together, so ` +
        `attempts race for the same tables and the concurrency limit; the room fills on purpose.`
      : `Bookings spread over ${RESTAURANTS} restaurants and 60 days, inserted evenly, so attempts rarely meet.`,
    ``,
    ...targetTable(targets),
    ``,
    ...runSection(run),
    ``,
    `| stored per booking | rows | row data (bytes) | on disk (bytes) |`,
    `| --- | ---: | ---: | ---: |`,
    ...Object.entries(storage).map(([t, x]) =>
      `| ${t} | ${x.rows_per_booking} | ${x.row_bytes_per_booking} | ${x.disk_bytes_per_booking} |`
    ),
    `| **total** | | ${sum("row_bytes_per_booking")} | ${sum("disk_bytes_per_booking")} |`,
  );
} else if (PROFILE === "overload") {
  // Measured on the database the run then uses, so the capacity is this machine's today.
  const probe = CAPACITY_GIVEN ? [] : await probeCapacity(RATES, CAPACITY_PROBE_SECONDS);
  const capacity = CAPACITY_GIVEN ? RATE : measuredCapacity(probe);
  if (!(capacity > 0)) throw new Error("the capacity probe seated nothing; see its points above");
  const restaurants = (await createRestaurants(admin, RESTAURANTS)).map((r) => r.id);
  const { run, backlogAtOfferEnd } = await measure(
    "overload",
    spread(restaurants, round(2 * capacity), SECONDS),
    round(2 * capacity),
  );
  // "The whole run": every full window until the backlog is gone, after the first (the pipeline filling up;
  // nothing can leave before its latency has passed); the last, partial window is the tail.
  const full = run.goodput_windows.slice(1).filter((w) => w.to_s - w.from_s >= 5 - 1e-9);
  // No full window (a run too short) leaves the target unjudged, hence missed, not met.
  const worst = full.length ? Math.min(...full.map((w) => w.per_s)) : NaN;
  const drainRate = run.drain_s > 0 ? round(backlogAtOfferEnd / run.drain_s) : NaN;
  const capacityFrom = CAPACITY_GIVEN ? "given" : "measured";
  const capacityPoint = probe.find((p) => p.goodput_per_s === capacity)?.offered_rate_per_s;
  const targets: Target[] = [
    {
      name:
        `goodput ≥ 90 % of capacity (${capacity}/s, ${capacityFrom}) in every full 5 s window after the first`,
      ok: worst >= 0.9 * capacity,
      measured: `worst ${worst}/s`,
    },
    {
      name: "re-dispatches ≤ 0.5 per booking",
      ok: run.outcomes.redispatches_per_booking <= 0.5,
      measured: `${run.outcomes.redispatches_per_booking}`,
    },
    {
      name: "no error",
      ok: run.outcomes.errors === 0 && run.insert_errors === 0,
      measured: `${run.outcomes.errors + run.insert_errors}`,
    },
    { name: "every booking terminal", ok: run.all_terminal, measured: `${run.outcomes.open} open` },
    {
      name: "backlog drains at ≥ 90 % of capacity",
      ok: !(drainRate < 0.9 * capacity),
      measured: `${backlogAtOfferEnd} in ${run.drain_s} s (${drainRate}/s)`,
    },
  ];
  result = {
    ...header,
    capacity_per_s: capacity,
    capacity_from: capacityFrom,
    ...(probe.length ? { capacity_probe: probe, capacity_set_at_offered_per_s: capacityPoint } : {}),
    run,
    backlog_at_offer_end: backlogAtOfferEnd,
    drain_rate_per_s: drainRate,
    targets,
  };
  lines.push(
    CAPACITY_GIVEN
      ? `Capacity given as ${capacity}/s (\`--rate\`).`
      : `Capacity measured as ${capacity}/s (at ${capacityPoint}/s offered): the most goodput of a curve at ${CAPACITY_PROBE_SECONDS} s a point ` +
        `over ${RESTAURANTS} restaurants of its own a point, its bookings kept, with up to two points halfway ` +
        `between the highest rate it kept up with and the first it did not (table below). The run follows on ` +
        `the same database, its ${probe.reduce((n, p) => n + p.bookings, 0)} bookings kept.`,
    `Offered 2 × that (${round(2 * capacity)}/s) for ${SECONDS} s across ${RESTAURANTS} ` +
      `restaurants (spread demand). Goodput counts bookings becoming terminal.`,
    ``,
    ...targetTable(targets),
    ``,
    ...runSection(run),
    ``,
    `Goodput per 5 s window over the whole run (offering ended at ${run.offered_seconds} s; ` +
      `${backlogAtOfferEnd} bookings were not yet terminal then):`,
    ``,
    ...windowTable(run.goodput_windows, capacity),
    ``,
    `Where the ${header.machine.cpus} cores went while offered and while the backlog drained:`,
    ``,
    ...coresTable(run),
    ``,
    `The costliest statements, per call while offered and while draining (time is wall time, so it grows with a ` +
      `busy machine; shared buffers per call do not):`,
    ``,
    ...phaseTable(run),
    ...(probe.length ? [``, `The capacity probe:`, ``, ...curveTable(probe)] : []),
  );
} else if (PROFILE === "drop") {
  const [restaurant] = (await createRestaurants(admin, 1, TABLES / 20)).map((r) => r.id);
  const limit = await maxParallel(admin, restaurant);
  const { run, ids, sampled } = await measure(
    "drop",
    oneEvening([restaurant], BOOKINGS, BOOKINGS, false),
    BOOKINGS,
    restaurant,
  );
  const order = await arrivalOrder(admin, ids);
  const t = run.insert_to_terminal_ms;
  const targets: Target[] = [
    { name: "every booking terminal", ok: run.all_terminal, measured: `${run.outcomes.open} open` },
    {
      name: "manual review always with a reason",
      ok: run.outcomes.manual_review_without_reason === 0,
      measured: `${run.outcomes.manual_review_without_reason} without`,
    },
    { name: "p95 insert→terminal ≤ 2 s", ok: t.p95 <= 2000, measured: `${t.p95} ms` },
    { name: "p99 insert→terminal ≤ 3 s", ok: t.p99 <= 3000, measured: `${t.p99} ms` },
    {
      name: "double bookings = 0",
      ok: run.outcomes.double_bookings === 0,
      measured: `${run.outcomes.double_bookings}`,
    },
    {
      name: "seating faults = 0",
      ok: run.outcomes.seating_faults === 0,
      measured: `${run.outcomes.seating_faults}`,
    },
    {
      name: "in progress ≤ max_parallel",
      ok: sampled!.max_in_progress_sampled <= limit,
      measured: `${sampled!.max_in_progress_sampled} of ${limit} (${sampled!.samples} samples)`,
    },
  ];
  result = { ...header, run, max_parallel: limit, ...sampled, arrival_order: order, targets };
  lines.push(
    `${BOOKINGS} bookings for one restaurant's evening (tomorrow 17:00–21:45, a ${TABLES}-table room) inserted ` +
      `within one second. In progress sampled every 50 ms during the run.`,
    ``,
    ...targetTable(targets),
    ``,
    ...runSection(run),
    ``,
    `First come, first served: ${order.refused_while_a_later_one_was_seated} bookings went to review while one ` +
      `inserted after them, for the same party size and start, was seated; first attempts began out of insert ` +
      `order for ${
        round(order.begun_out_of_order_share * 100, 1)
      } % of pairs (at most ${order.most_overtaken} ` +
      `bookings inserted after one began before it).`,
  );
} else {
  const points = await curve(RATES, SECONDS);
  svg = curveChart(
    `Pipeline: goodput and p95 against offered load (${header.machine.cpus} CPUs, ${DISPATCH} dispatch)`,
    points.map((p) => ({
      offered: p.offered_rate_per_s,
      goodput: p.goodput_per_s,
      p95_ms: p.insert_to_confirmed_ms.p95,
    })),
  );
  result = { ...header, points };
  lines.push(
    `Spread demand over ${RESTAURANTS} restaurants of its own at each offered rate for ${SECONDS} s, the ` +
      `earlier points' bookings kept, until goodput fell below 90 % of offered. Chart: [${NAME}.svg](${NAME}.svg).`,
    ``,
    ...curveTable(points),
  );
}

lines.push(
  ``,
  `Reproduce: \`scripts/bench-pipeline ${flags.join(" ")}\``.replace("pipeline `", "pipeline`"),
  ``,
);
const markdown = lines.join("\n");
await Deno.mkdir(args.out!, { recursive: true });
await Deno.writeTextFile(`${args.out}/${NAME}.json`, JSON.stringify(result, null, 2) + "\n");
await Deno.writeTextFile(`${args.out}/${NAME}.md`, markdown);
if (svg) await Deno.writeTextFile(`${args.out}/${NAME}.svg`, svg);
console.log("\n" + markdown);
await Promise.all([admin.end(), pool.end()]);
