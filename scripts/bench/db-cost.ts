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
import { serialBooking } from "./serial-booking.ts";

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
  const outcome = await serialBooking(sql, { restaurantId: restaurant.id, partySize: 2, inDays: 200 + i });
  if (outcome === "confirmed") confirmed++;
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
