// How long operators' reads take on a busy platform's database: the rollout metrics over a day and a week,
// health, the review queue's first page, the stuck list and the plan's dashboards, each called as service_role
// as the Data API calls them, on a database holding --days of bookings at --per-day a day. The rows are made
// the way the pipeline makes them: --templates bookings go through the real calls one connection at a time
// (insert, assignment_lease, assignment_snapshot, then assignment_commit, or for one in six assignment_fail as
// nothing free fits, and the guest message claimed and completed), then are copied over the days with their events,
// history, attempts and messages, each copy's times moved by its place in the days (its tables are not
// copied: a copy's stay may overlap another's on one table). Each read runs
// --repeat times; the report gives the fastest, the median and the slowest, and marks a median above the 8 s
// statement timeout the Data API's role has on hosted Supabase.
// Usage: deno run -A scripts/bench/ops-reads.ts [--days 7] [--per-day 46000] [--templates 650] [--repeat 3]
// [--out scripts/bench/results] [--name ops-reads] [--check (only check the options, as scripts/bench-ops-reads
// does before it resets the database)]
import { parseArgs } from "node:util";
import { connect, createRestaurant, type TestRestaurant } from "../../shared/testing/stack.ts";
import { optionError, parsedOr } from "./options.ts";
import { round } from "./pipeline/stats.ts";
import { describeRun, runContext } from "./run-context.ts";
import { serialBooking } from "./serial-booking.ts";

const fail = optionError("scripts/bench-ops-reads");
const { values: args } = parsedOr(fail, () =>
  parseArgs({
    options: {
      check: { type: "boolean", default: false },
      days: { type: "string", default: "7" },
      "per-day": { type: "string", default: "46000" },
      templates: { type: "string", default: "650" },
      repeat: { type: "string", default: "3" },
      out: { type: "string", default: "scripts/bench/results" },
      name: { type: "string", default: "ops-reads" },
    },
  }));
const whole = (name: string, value: string, low: number, high: number) => {
  const n = Number(value);
  if (!(Number.isInteger(n) && n >= low && n <= high)) {
    fail(`--${name} must be a whole number ${low}–${high}`);
  }
  return n;
};
const DAYS = whole("days", args.days!, 1, 30);
const PER_DAY = whole("per-day", args["per-day"]!, 100, 200_000);
const TEMPLATES = whole("templates", args.templates!, 10, 2000);
const REPEAT = whole("repeat", args.repeat!, 1, 10);
if (!/^[\w.-]+$/.test(args.name!)) {
  fail("--name is a file name (letters, digits, . _ -); choose the directory with --out");
}
if (args.check) Deno.exit(0);
// Postgres on hosted Supabase cuts a Data API call off after the authenticator role's statement timeout.
const DATA_API_TIMEOUT_MS = 8000;
const RESTAURANTS = 10;

const context = await runContext();
const sql = connect(2);

console.log(`==> ${TEMPLATES} bookings through the pipeline's calls`);
const restaurants: TestRestaurant[] = [];
for (let i = 0; i < RESTAURANTS; i++) {
  restaurants.push(
    await createRestaurant(sql, {
      tables: Array.from({ length: 20 }, (_, t) => ({ number: `T${t + 1}`, capacity: t < 14 ? 4 : 2 })),
    }),
  );
}
let reviewed = 0;
for (let i = 0; i < TEMPLATES; i++) {
  // Parties of 1 to 4; one booking in six finds nothing free and goes to review, as on a busy night.
  const outcome = await serialBooking(sql, {
    restaurantId: restaurants[i % RESTAURANTS].id,
    partySize: 1 + (i * 7) % 4,
    inDays: 30 + Math.floor(i / RESTAURANTS),
    toReview: i % 6 === 5,
  });
  if (outcome === "manual_review") reviewed++;
}

const copies = Math.max(1, Math.round(PER_DAY * DAYS / TEMPLATES) - 1);
console.log(
  `==> copying them ${copies} times over ${DAYS} days, with their events, history, attempts and messages`,
);
const filled = performance.now();
await sql.begin(async (tx) => {
  // Copies are the pipeline's rows as they were written: its triggers have run on the originals.
  await tx`set local session_replication_role = replica`;
  await tx`
    create temp table copy_of on commit drop as
    select g as k, ${DAYS} * interval '1 day' * g / (${copies} + 1) - ${DAYS} * interval '1 day' as shift
      from generate_series(1, ${copies}) g`;
  await tx`create temp table template on commit drop as select b.*, row_number() over () as n from public.bookings b`;
  // A copy's id and reference follow from its template's and its number, so the children find their booking.
  await tx`
    insert into public.bookings (id, restaurant_id, reference, party_size, start_at, end_at, buffer_before_minutes,
      buffer_after_minutes, status, assignment_state, assignment_state_version, assignment_strategy, assignment_mode,
      next_attempt_at, attempt_count, lease_token, lease_expires_at, dispatch_count, last_dispatched_at,
      deferred_since, manual_review_reason, created_at, updated_at)
    select md5(b.id::text || c.k)::uuid, b.restaurant_id,
           'YY' || (select string_agg(substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', (((c.k * 10000 + b.n) >> (5 * i)) & 31)::int + 1, 1), '' order by i)
                      from generate_series(0, 7) i),
           b.party_size, b.start_at + c.shift, b.end_at + c.shift, b.buffer_before_minutes, b.buffer_after_minutes, b.status,
           b.assignment_state, b.assignment_state_version, b.assignment_strategy, b.assignment_mode, b.next_attempt_at,
           b.attempt_count, b.lease_token, b.lease_expires_at, b.dispatch_count, b.last_dispatched_at + c.shift,
           b.deferred_since, b.manual_review_reason, b.created_at + c.shift, b.updated_at + c.shift
      from template b cross join copy_of c`;
  await tx`
    insert into public.observability_events (created_at, source, event_type, severity, context, restaurant_id, booking_id)
    select e.created_at + c.shift, e.source, e.event_type, e.severity, e.context, e.restaurant_id,
           md5(e.booking_id::text || c.k)::uuid
      from public.observability_events e join template t on t.id = e.booking_id cross join copy_of c`;
  await tx`
    insert into public.booking_assignment_state_history (booking_id, from_state, to_state, version, reason, metadata,
                                                         actor, created_at)
    select md5(h.booking_id::text || c.k)::uuid, h.from_state, h.to_state, h.version, h.reason, h.metadata, h.actor,
           h.created_at + c.shift
      from public.booking_assignment_state_history h join template t on t.id = h.booking_id cross join copy_of c`;
  await tx`
    insert into public.booking_assignment_attempts (booking_id, attempt_no, strategy, result, reason, duration_ms,
                                                    metadata, created_at)
    select md5(a.booking_id::text || c.k)::uuid, a.attempt_no, a.strategy, a.result, a.reason, a.duration_ms,
           a.metadata, a.created_at + c.shift
      from public.booking_assignment_attempts a join template t on t.id = a.booking_id cross join copy_of c`;
  await tx`
    insert into public.notification_outbox (booking_id, restaurant_id, kind, dedupe_key, payload, status, attempts,
      next_attempt_at, lease_expires_at, lease_token, last_error, sent_at, created_at, seq, dead_because,
      may_have_arrived)
    select md5(o.booking_id::text || c.k)::uuid, o.restaurant_id, o.kind, o.dedupe_key || ':' || c.k, o.payload,
           o.status, o.attempts, o.next_attempt_at, o.lease_expires_at, o.lease_token, o.last_error,
           o.sent_at + c.shift, o.created_at + c.shift, o.seq, o.dead_because, o.may_have_arrived
      from public.notification_outbox o join template t on t.id = o.booking_id cross join copy_of c`;
});
await sql`analyze`;
const [volume] = await sql<{ bookings: number; events: number; history: number }[]>`
  select (select count(*)::int from public.bookings) as bookings,
         (select count(*)::int from public.observability_events) as events,
         (select count(*)::int from public.booking_assignment_state_history) as history`;
console.log(
  `    ${volume.bookings} bookings, ${volume.events} events, ${volume.history} history rows (${
    round((performance.now() - filled) / 1000, 1)
  } s)`,
);

const READS: { name: string; query: string }[] = [
  { name: "ops.pipeline_metrics, last 24 hours", query: `select ops.pipeline_metrics()` },
  {
    name: `ops.pipeline_metrics, last ${DAYS} days`,
    query: `select ops.pipeline_metrics(now() - interval '${DAYS} days', now())`,
  },
  {
    name: `ops.pipeline_metrics, last ${DAYS} days, V3 bookings`,
    query: `select ops.pipeline_metrics(now() - interval '${DAYS} days', now(), p_mode => 'v3')`,
  },
  { name: "ops.health", query: `select ops.health()` },
  { name: "ops.manual_review_queue, first page", query: `select ops.manual_review_queue()` },
  // The stuck list and the plan's dashboards.
  ...(await sql<{ view: string }[]>`
    select table_name as view from information_schema.views where table_schema = 'ops' order by 1`)
    .map(({ view }) => ({ name: `ops.${view}`, query: `select count(*) from ops.${view}` })),
];
const reads = [];
for (const read of READS) {
  const ms: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    const started = performance.now();
    await sql.begin(async (tx) => {
      await tx`set local role service_role`;
      await tx.unsafe(read.query);
    });
    ms.push(performance.now() - started);
  }
  ms.sort((a, b) => a - b);
  const row = {
    read: read.name,
    fastest_ms: round(ms[0], 0),
    median_ms: round(ms[Math.floor(ms.length / 2)], 0),
    slowest_ms: round(ms[ms.length - 1], 0),
  };
  console.log(`    ${row.read}: ${row.median_ms} ms (median of ${REPEAT})`);
  reads.push(row);
}
await sql.end();

const result = {
  ...context,
  days: DAYS,
  per_day: PER_DAY,
  templates: TEMPLATES,
  templates_in_review: reviewed,
  restaurants: RESTAURANTS,
  ...volume,
  data_api_timeout_ms: DATA_API_TIMEOUT_MS,
  reads,
};
const md = [
  `# How long operators' reads take on a busy database`,
  ``,
  `${
    describeRun(context)
  }; ${volume.bookings} bookings over ${DAYS} days (${PER_DAY} a day across ${RESTAURANTS} restaurants), ${volume.events} events, ${volume.history} history rows: ${TEMPLATES} bookings made through the pipeline's calls (${reviewed} sent to review), copied over the days.`,
  ``,
  `| read (as service_role) | fastest ms | median ms | slowest ms | within the Data API's 8 s |`,
  `| --- | ---: | ---: | ---: | --- |`,
  ...reads.map((r) =>
    `| ${r.read} | ${r.fastest_ms} | ${r.median_ms} | ${r.slowest_ms} | ${
      r.median_ms <= DATA_API_TIMEOUT_MS ? "yes" : "**no**"
    } |`
  ),
  ``,
  `Reproduce: \`scripts/bench-ops-reads --days ${DAYS} --per-day ${PER_DAY} --templates ${TEMPLATES} --repeat ${REPEAT}\``,
  ``,
].join("\n");
await Deno.mkdir(args.out!, { recursive: true });
await Deno.writeTextFile(`${args.out}/${args.name}.json`, JSON.stringify(result, null, 2) + "\n");
await Deno.writeTextFile(`${args.out}/${args.name}.md`, md);
console.log(md);
