// Pipeline benchmark: drives bookings through the real path (INSERT → trigger → pg_net → function →
// RPCs) at a fixed rate for a fixed time, then reads every timing back from Postgres and writes JSON +
// Markdown, including the rows and bytes each booking leaves behind. Two demand profiles:
//   spread   (default) bookings spread over 10 restaurants and 60 days, inserted evenly: the steady state,
//            where conflicts and lock waits stay near zero by construction
//   crowded  every booking is for one restaurant's evening tomorrow (17:00–21:45) and each second's
//            bookings arrive together, so concurrent attempts race for the same tables and the
//            per-restaurant concurrency limit: conflicts, rate limiting and lock waits show up
// Usage: deno run -A scripts/bench/pipeline.ts [--profile spread|crowded] [--rate 20] [--seconds 60]
// [--restaurants 10 (crowded: 1)] [--out scripts/bench/results] [--name pipeline]
import { parseArgs } from "node:util";
import { connect, createRestaurant, type TableSpec } from "../../shared/testing/stack.ts";
import { percentile, seededRandom, weighted } from "../../shared/testing/random.ts";

const { values: args } = parseArgs({
  options: {
    profile: { type: "string", default: "spread" },
    rate: { type: "string", default: "20" },
    seconds: { type: "string", default: "60" },
    restaurants: { type: "string" },
    out: { type: "string", default: "scripts/bench/results" },
    name: { type: "string", default: "pipeline" },
  },
});
const PROFILE = args.profile as "spread" | "crowded";
if (PROFILE !== "spread" && PROFILE !== "crowded") throw new Error("--profile must be spread or crowded");
const CROWDED = PROFILE === "crowded";
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const RESTAURANTS = Number(args.restaurants ?? (CROWDED ? 1 : 10));
if (!(RATE > 0 && SECONDS > 0 && RESTAURANTS > 0)) {
  throw new Error("--rate, --seconds and --restaurants must be positive");
}

// The machine may be shared: its load when the run starts goes into the report.
const loadAtStart = Deno.loadavg().map((x) => Math.round(x * 100) / 100);
const admin = connect(2);
const pool = connect(16);
const random = seededRandom(7);

// A 20-table room: a chain of eight 2-tops, a chain of eight 4-tops, four fixed 6-tops.
const tables: TableSpec[] = [
  ...Array.from({ length: 8 }, (_, i) => ({ number: `A${i + 1}`, capacity: 2 })),
  ...Array.from({ length: 8 }, (_, i) => ({ number: `B${i + 1}`, capacity: 4, min: 2 })),
  ...Array.from({ length: 4 }, (_, i) => ({ number: `C${i + 1}`, capacity: 6, min: 4, movable: false })),
];
const chain = (prefix: string) =>
  Array.from({ length: 7 }, (_, i) => [`${prefix}${i + 1}`, `${prefix}${i + 2}`] as [string, string]);
const restaurants = [];
for (let i = 0; i < RESTAURANTS; i++) {
  restaurants.push(await createRestaurant(admin, { tables, adjacency: [...chain("A"), ...chain("B")] }));
}

console.log(
  `Offering ${RATE} bookings/s for ${SECONDS} s across ${RESTAURANTS} restaurants (profile ${PROFILE})…`,
);
const total = Math.round(RATE * SECONDS);
const ids: string[] = [];
const started = Date.now();
const inserts: Promise<void>[] = [];
for (let i = 0; i < total; i++) {
  // spread: evenly spaced; crowded: each second's bookings all at once, at the start of the second.
  const due = started + (CROWDED ? Math.floor(i / RATE) * 1000 : (i * 1000) / RATE);
  await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
  const restaurant = restaurants[i % RESTAURANTS];
  const day = CROWDED ? 1 : 1 + Math.floor(random() * 60);
  const quarter = 17 * 4 + Math.floor(random() * 20);
  const party = weighted(random, [[2, 50], [3, 10], [4, 25], [5, 8], [6, 7]]);
  inserts.push(
    pool`insert into public.bookings (restaurant_id, party_size, start_at)
         values (${restaurant.id}, ${party}, date_trunc('day', now()) + make_interval(days => ${day}, mins => ${
      quarter * 15
    }))
         returning id`.then(([row]) => void ids.push(row.id)),
  );
  if (i % RATE === 0) await report(i, false);
}
await Promise.all(inserts);
const offeredSeconds = (Date.now() - started) / 1000;
for (let waited = 0; waited < 60 && (await openCount()) > 0; waited++) {
  await new Promise((r) => setTimeout(r, 500));
}
await report(total, true);

async function openCount(): Promise<number> {
  const [{ n }] = await admin`
    select count(*)::int as n from public.bookings
     where id = any(${ids}::uuid[]) and assignment_state not in ('confirmed', 'manual_review', 'cancelled')`;
  return n;
}

async function report(inserted: number, done: boolean) {
  const [c] = await admin`
    select count(*) filter (where assignment_state = 'confirmed')::int as confirmed,
           count(*) filter (where assignment_state = 'manual_review')::int as review
      from public.bookings where id = any(${ids}::uuid[])`;
  const elapsed = ((Date.now() - started) / 1000).toFixed(0).padStart(3);
  console.log(
    `  t=${elapsed}s inserted ${inserted}/${total}  confirmed ${c.confirmed}  manual review ${c.review}` +
      (done ? "  (done)" : ""),
  );
}

// Every timing comes from Postgres: insert (bookings.created_at), first begin (the attempt's start event:
// coordinator.start, or auto_assign.attempt.start when restaurants run legacy or shadow), confirmation (the
// history row of → confirmed).
const rows = await admin<{ insert_to_confirmed: number; dispatch: number; processing: number }[]>`
  select extract(epoch from c.created_at - b.created_at) * 1000 as insert_to_confirmed,
         extract(epoch from s.created_at - b.created_at) * 1000 as dispatch,
         extract(epoch from c.created_at - s.created_at) * 1000 as processing
    from public.bookings b
    join public.booking_assignment_state_history c on c.booking_id = b.id and c.to_state = 'confirmed'
    join lateral (select min(e.created_at) as created_at from public.observability_events e
                   where e.booking_id = b.id
                     and e.event_type in ('coordinator.start', 'auto_assign.attempt.start')) s on true
   where b.id = any(${ids}::uuid[])`;
const waits = await admin<{ lock_wait: number; slot_wait: number }[]>`
  select (context ->> 'lock_wait_ms')::numeric as lock_wait, (context ->> 'slot_wait_ms')::numeric as slot_wait
    from public.observability_events
   where booking_id = any(${ids}::uuid[]) and event_type in ('coordinator.start', 'auto_assign.attempt.start')`;
const commitWaits = await admin<{ lock_wait: number }[]>`
  select (context ->> 'lock_wait_ms')::numeric as lock_wait
    from public.observability_events
   where booking_id = any(${ids}::uuid[]) and event_type in ('coordinator.confirmed', 'auto_assign.succeeded')`;
const [counts] = await admin`
  select count(*) filter (where event_type in ('coordinator.commit_conflict', 'auto_assign.commit_conflict'))::int as conflicts,
         count(*) filter (where event_type in ('coordinator.lock_contention', 'auto_assign.lock_contention'))::int
           as lock_contention,
         count(*) filter (where event_type in ('coordinator.retry', 'auto_assign.retry_scheduled')
                            and context ->> 'reason' = 'rate_limited')::int as rate_limited,
         count(*) filter (where event_type in ('coordinator.error', 'auto_assign.attempt_error'))::int as errors
    from public.observability_events where booking_id = any(${ids}::uuid[])`;
const [outcome] = await admin`
  select count(*) filter (where assignment_state = 'confirmed')::int as confirmed,
         count(*) filter (where assignment_state = 'manual_review')::int as manual_review,
         count(*) filter (where assignment_state not in ('confirmed', 'manual_review', 'cancelled'))::int as stuck,
         extract(epoch from max(h.created_at) - min(b.created_at)) as span_s
    from public.bookings b
    left join public.booking_assignment_state_history h on h.booking_id = b.id and h.to_state = 'confirmed'
   where b.id = any(${ids}::uuid[])`;
const [{ double_booked }] = await admin`
  select count(*)::int as double_booked from public.booking_table_assignments a
    join public.booking_table_assignments b on a.table_id = b.table_id and a.id < b.id and a.during && b.during
   where a.released_at is null and b.released_at is null and a.booking_id = any(${ids}::uuid[])`;

// What each booking leaves behind, measured on this run's bookings: rows per booking, and bytes per
// booking as row data (pg_column_size of each row plus 28 bytes of tuple header and line pointer) and on
// disk (the table's share, with its indexes and TOAST, after VACUUM; valid on the fresh stack
// scripts/bench-pipeline starts, where the tables hold nothing else of note).
const STORED = [
  ["observability_events", "booking_id"],
  ["booking_assignment_state_history", "booking_id"],
  ["booking_table_assignments", "booking_id"],
  ["booking_assignment_attempts", "booking_id"],
  ["notification_outbox", "booking_id"],
  ["bookings", "id"],
] as const;
await admin.unsafe(`vacuum (analyze) ${STORED.map(([t]) => `public.${t}`).join(", ")}`);
const storage: Record<
  string,
  { rows_per_booking: number; row_bytes_per_booking: number; disk_bytes_per_booking: number }
> = {};
for (const [table, key] of STORED) {
  const [row] = await admin.unsafe(
    `select count(*)::bigint as rows, coalesce(sum(pg_column_size(t.*) + 28), 0)::bigint as bytes,
            (select count(*) from public.${table})::bigint as all_rows,
            pg_total_relation_size('public.${table}')::bigint as disk
       from public.${table} t where t.${key} = any($1::uuid[])`,
    [ids],
  );
  const share = Number(row.all_rows) > 0 ? Number(row.rows) / Number(row.all_rows) : 0;
  storage[table] = {
    rows_per_booking: round(Number(row.rows) / ids.length, 2),
    row_bytes_per_booking: Math.round(Number(row.bytes) / ids.length),
    disk_bytes_per_booking: Math.round((Number(row.disk) * share) / ids.length),
  };
}
const storageTotal = {
  row_bytes_per_booking: Object.values(storage).reduce((a, x) => a + x.row_bytes_per_booking, 0),
  disk_bytes_per_booking: Object.values(storage).reduce((a, x) => a + x.disk_bytes_per_booking, 0),
};

const num = (xs: { [k: string]: unknown }[], key: string) => xs.map((x) => Number(x[key]));
const latency = num(rows, "insert_to_confirmed");
const lockWaits = [...num(waits, "lock_wait"), ...num(commitWaits, "lock_wait")];
const slotWaits = num(waits, "slot_wait");
const result = {
  benchmark: "pipeline",
  date: new Date().toISOString(),
  machine: { cpus: navigator.hardwareConcurrency, os: Deno.build.os, load_average_at_start: loadAtStart },
  profile: PROFILE,
  config: { profile: PROFILE, rate_per_s: RATE, seconds: SECONDS, restaurants: RESTAURANTS, bookings: total },
  dispatcher: "local pg_net stand-in (no 1 s batch sleep; hosted pg_net adds 0–1 s of dispatch delay)",
  offered_rate_per_s: round(total / offeredSeconds),
  throughput_confirmed_per_s: round(outcome.confirmed / Number(outcome.span_s)),
  confirmed: outcome.confirmed,
  manual_review: outcome.manual_review,
  stuck: outcome.stuck,
  double_bookings: double_booked,
  errors: counts.errors,
  insert_to_confirmed_ms: summary(latency),
  dispatch_delay_ms: summary(num(rows, "dispatch")),
  processing_ms: summary(num(rows, "processing")),
  lock_wait_p95_ms: round(percentile(lockWaits, 95)),
  slot_wait_p95_ms: round(percentile(slotWaits, 95)),
  conflicts: counts.conflicts,
  conflicts_per_booking: round(counts.conflicts / total, 4),
  lock_contention: counts.lock_contention,
  rate_limited_retries: counts.rate_limited,
  storage_per_booking: { ...storage, total: storageTotal },
};
// crowded fills the room on purpose (most bookings cannot be seated), so it is judged on safety and
// on finishing every booking rather than on confirmed throughput or conflict rates.
const targets = [
  ...(CROWDED ? [] : [
    [
      "throughput ≥ offered rate",
      result.throughput_confirmed_per_s >= RATE * 0.95,
      `${result.throughput_confirmed_per_s}/s`,
    ] as const,
  ]),
  [
    "p95 insert→confirmed ≤ 250 ms",
    result.insert_to_confirmed_ms.p95 <= 250,
    `${result.insert_to_confirmed_ms.p95} ms`,
  ],
  [
    "p99 insert→confirmed ≤ 1000 ms",
    result.insert_to_confirmed_ms.p99 <= 1000,
    `${result.insert_to_confirmed_ms.p99} ms`,
  ],
  [
    "lock/slot wait p95 ≤ 20 ms",
    Math.max(result.lock_wait_p95_ms, result.slot_wait_p95_ms) <= 20,
    `${result.lock_wait_p95_ms} / ${result.slot_wait_p95_ms} ms`,
  ],
  ...(CROWDED ? [] : [
    [
      "conflicts per booking < 0.1",
      result.conflicts_per_booking < 0.1,
      `${result.conflicts_per_booking}`,
    ] as const,
  ]),
  ["double bookings = 0", result.double_bookings === 0, `${result.double_bookings}`],
  ["stuck bookings = 0", result.stuck === 0, `${result.stuck}`],
] as const;

const markdown = [
  `# Pipeline benchmark`,
  ``,
  `${result.date} · ${result.machine.cpus} CPUs (load ${
    loadAtStart.join(" / ")
  } at start) · profile **${PROFILE}** · ${RATE} bookings/s for ${SECONDS} s ` +
  `across ${RESTAURANTS} restaurant${
    RESTAURANTS === 1 ? "" : "s"
  } (${total} bookings). Dispatcher: ${result.dispatcher}.`,
  ``,
  CROWDED
    ? `Profile crowded: every booking is for one evening (tomorrow 17:00–21:45) and each second's bookings ` +
      `arrive together, so attempts race for the same tables and the concurrency limit.`
    : `Profile spread: bookings spread over ${RESTAURANTS} restaurants and 60 days and inserted evenly, so ` +
      `attempts rarely meet; see --profile crowded for contention.`,
  ``,
  `| metric | p50 | p95 | p99 | max |`,
  `| --- | ---: | ---: | ---: | ---: |`,
  ...(["insert_to_confirmed_ms", "dispatch_delay_ms", "processing_ms"] as const).map((k) =>
    `| ${k.replace(/_ms$/, "").replaceAll("_", " ")} (ms) | ${result[k].p50} | ${result[k].p95} | ${
      result[k].p99
    } | ${result[k].max} |`
  ),
  ``,
  `| target | result | measured |`,
  `| --- | --- | ---: |`,
  ...targets.map(([name, ok, value]) => `| ${name} | ${ok ? "met" : "**missed**"} | ${value} |`),
  ``,
  `Confirmed ${result.confirmed}, manual review ${result.manual_review}, errors ${result.errors}; ` +
  `contention: ${result.conflicts} commit conflicts (re-planned), ${result.lock_contention} lock contentions, ` +
  `${result.rate_limited_retries} rate-limited retries; lock wait p95 ${result.lock_wait_p95_ms} ms, ` +
  `slot wait p95 ${result.slot_wait_p95_ms} ms.`,
  ``,
  `Stored per booking (this run's bookings; row data = column sizes + tuple header; on disk = the table's share ` +
  `with indexes and TOAST after VACUUM):`,
  ``,
  `| table | rows | row data (bytes) | on disk (bytes) |`,
  `| --- | ---: | ---: | ---: |`,
  ...Object.entries(storage).map(([t, x]) =>
    `| ${t} | ${x.rows_per_booking} | ${x.row_bytes_per_booking} | ${x.disk_bytes_per_booking} |`
  ),
  `| **total** | | ${storageTotal.row_bytes_per_booking} | ${storageTotal.disk_bytes_per_booking} |`,
  ``,
  `Reproduce: \`scripts/bench-pipeline${
    CROWDED ? " --profile crowded" : ""
  } --rate ${RATE} --seconds ${SECONDS} ` +
  `--restaurants ${RESTAURANTS}${args.name === "pipeline" ? "" : ` --name ${args.name}`}\``,
  ``,
].join("\n");

await Deno.mkdir(args.out!, { recursive: true });
await Deno.writeTextFile(`${args.out}/${args.name}.json`, JSON.stringify(result, null, 2) + "\n");
await Deno.writeTextFile(`${args.out}/${args.name}.md`, markdown);
console.log("\n" + markdown);
await Promise.all([admin.end(), pool.end()]);

function summary(values: number[]) {
  return {
    p50: round(percentile(values, 50)),
    p95: round(percentile(values, 95)),
    p99: round(percentile(values, 99)),
    max: round(Math.max(...values)),
    n: values.length,
  };
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
