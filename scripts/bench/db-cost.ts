// What one booking costs the database, without contention: one connection runs the whole path of each
// booking in turn — insert, assignment_lease and assignment_snapshot, assignment_commit (the first free table),
// notification claim and complete — as the function would, with nothing else running (the functions and the
// pg_net worker are stopped, so the insert's dispatch is queued, not delivered). It reads the backend's own
// CPU time from /proc and each statement's time from pg_stat_statements, so the numbers hardly move with the
// machine's load, unlike the pipeline benchmark's. With --rate N each booking starts 1/N s after the one
// before (as at N bookings/s) instead of right after it: the same work then meets a CPU that idled in between,
// which is what the pipeline benchmark's 20/s sees. Usage: deno run -A scripts/bench/db-cost.ts
// [--bookings 300] [--rate 0 (back to back)] [--out scripts/bench/results] [--name db-cost] [--check (only
// check the options, as scripts/bench-db-cost does before it resets the database)]
import { parseArgs } from "node:util";
import { connect, createRestaurant } from "../../shared/testing/stack.ts";
import { BENCH_TAG, parseProcStat, pipelineStatements, statementsAvailable } from "./pipeline/measure.ts";
import { describeRun, runContext } from "./run-context.ts";
import { optionError, parsedOr } from "./options.ts";

const fail = optionError("scripts/bench-db-cost");
const { values: args } = parsedOr(fail, () =>
  parseArgs({
    options: {
      check: { type: "boolean", default: false },
      bookings: { type: "string", default: "300" },
      rate: { type: "string", default: "0" },
      out: { type: "string", default: "scripts/bench/results" },
      name: { type: "string", default: "db-cost" },
    },
  }));
const N = Number(args.bookings);
if (!(Number.isInteger(N) && N > 0 && N <= 1500)) fail("--bookings must be an integer 1–1500");
const RATE = Number(args.rate);
if (!(Number.isFinite(RATE) && RATE >= 0 && RATE <= 1000)) {
  fail("--rate must be a number of bookings per second from 0 (back to back) to 1000");
}
if (!/^[\w.-]+$/.test(args.name!)) {
  fail("--name is a file name (letters, digits, . _ -); choose the directory with --out");
}
if (args.check) Deno.exit(0);

const context = await runContext();
const admin = connect(1);
const restaurant = await createRestaurant(admin, {
  tables: Array.from({ length: 20 }, (_, i) => ({ number: `T${i + 1}`, capacity: 4 })),
});
await admin.end();

const sql = connect(1);
// This script's own reads carry BENCH_TAG, which the statement figures leave out, as the pipeline benchmark's.
const cpuTicks = async () => {
  const [{ stat }] = await sql.unsafe(`${BENCH_TAG} select pg_read_file('/proc/self/stat') as stat`);
  return parseProcStat(stat).ticks;
};
const ticksPerSecond = 100; // USER_HZ on Linux
const statements = await statementsAvailable(sql);
if (statements) await sql.unsafe(`${BENCH_TAG} select extensions.pg_stat_statements_reset()`);

const cpuBefore = await cpuTicks();
const started = performance.now();
let confirmed = 0;
let busyMs = 0; // the bookings' own wall time, without the waits --rate puts between them
for (let i = 0; i < N; i++) {
  if (RATE > 0) await sleepUntil(started + i * 1000 / RATE);
  const bookingStarted = performance.now();
  // One booking a day, so every booking finds a free table.
  const [{ id }] = await sql<{ id: string }[]>`
    insert into public.bookings (restaurant_id, party_size, start_at)
    values (${restaurant.id}, 2, date_trunc('day', now()) + make_interval(days => ${
    200 + i
  }) + interval '19 hours')
    returning id`;
  const [{ r: begun }] = await sql<{ r: { outcome: string; lease_token: string } }[]>`
    select public.assignment_lease(p_booking_id => ${id}, p_trigger => 'dispatch') as r`;
  if (begun.outcome !== "ready") throw new Error(`booking ${i}: lease answered ${begun.outcome}`);
  const [{ r: read }] = await sql<{ r: { outcome: string; snapshot: Snapshot } }[]>`
    select public.assignment_snapshot(p_booking_id => ${id}, p_lease_token => ${begun.lease_token}) as r`;
  if (read.outcome !== "ready") throw new Error(`booking ${i}: snapshot answered ${read.outcome}`);
  const table = read.snapshot.tables.find((t) => t.min_party_size <= 2 && t.max_party_size >= 2)!;
  const [{ r: committed }] = await sql<{ r: { outcome: string } }[]>`
    select public.assignment_commit(p_booking_id => ${id}, p_lease_token => ${begun.lease_token},
      p_table_ids => ${[table.id]}::uuid[], p_strategy => 'scarcity_fit', p_duration_ms => 3,
      p_metadata => ${sql.json({ score: 1.5, slack: 0, candidates: 4, replans: 0, mode: "v3" })}) as r`;
  if (committed.outcome === "confirmed") confirmed++;
  await sql`
    select count(public.notification_complete(p_id => c.id, p_lease_token => c.lease_token, p_ok => true))
      from public.notification_claim(p_limit => 5, p_lease_ms => 60000) c`;
  busyMs += performance.now() - bookingStarted;
  if ((i + 1) % 100 === 0) console.log(`${i + 1}/${N} bookings`);
}
const cpuMs = ((await cpuTicks()) - cpuBefore) * 1000 / ticksPerSecond;

// Every top-level statement of the pipeline's (pipelineStatements); the six costliest are listed.
const counted = statements ? await pipelineStatements(sql) : [];
const perStatement = counted.slice(0, 6).map((s) => ({
  query: s.query.replace(/\s+/g, " ").trim().slice(0, 90),
  calls: s.calls,
  ms: Math.round(s.ms * 10) / 10,
}));
await sql.end();

const round = (x: number) => Math.round(x * 100) / 100;
const result = {
  ...context,
  bookings: N,
  rate_per_second: RATE,
  confirmed,
  backend_cpu_ms_per_booking: round(cpuMs / N),
  wall_ms_per_booking: round(busyMs / N),
  statement_ms_per_booking: round(counted.reduce((sum, s) => sum + s.ms, 0) / N),
  statements: perStatement.map((s) => ({ ...s, ms_per_booking: round(s.ms / N) })),
};
const md = [
  `# What one booking costs the database (serial, one connection)`,
  ``,
  `${describeRun(context)}; ${N} bookings, ${confirmed} confirmed; ${
    RATE > 0 ? `one started every ${round(1000 / RATE)} ms (${RATE}/s)` : "back to back"
  }.`,
  ``,
  `| per booking | ms |`,
  `| --- | ---: |`,
  `| backend CPU (from /proc) | ${result.backend_cpu_ms_per_booking} |`,
  `| statement time (pg_stat_statements, top level) | ${result.statement_ms_per_booking} |`,
  `| wall time, client included | ${result.wall_ms_per_booking} |`,
  ``,
  `| statement | calls | ms per booking |`,
  `| --- | ---: | ---: |`,
  ...result.statements.map((s) =>
    `| \`${s.query.replaceAll("|", "\\|")}…\` | ${s.calls} | ${s.ms_per_booking} |`
  ),
  ``,
  `Reproduce: \`scripts/bench-db-cost --bookings ${N}${RATE > 0 ? ` --rate ${RATE}` : ""}\``,
  ``,
].join("\n");
await Deno.mkdir(args.out!, { recursive: true });
await Deno.writeTextFile(`${args.out}/${args.name}.json`, JSON.stringify(result, null, 2) + "\n");
await Deno.writeTextFile(`${args.out}/${args.name}.md`, md);
console.log(md);

function sleepUntil(at: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, at - performance.now())));
}

interface Snapshot {
  tables: { id: string; min_party_size: number; max_party_size: number }[];
}
