// A day at Harbour Bistro: tomorrow's bookings arrive in booking order (not dining order), each one an
// ordinary INSERT, and the pipeline seats them as they come. Shows progress, then the evening's floor.
import { connect } from "../../shared/testing/stack.ts";
import { percentile, seededRandom, weighted } from "../../shared/testing/random.ts";
import { isDemand, reasonCode } from "./reviews.ts";

const RESTAURANT = "00000000-0000-4000-8000-00000000b157";
const BOOKINGS = Number(Deno.args[0] ?? 60);
const PER_SECOND = 8;

const sql = connect(4);
const random = seededRandom(20261125);
// Tomorrow where the restaurant is, not in the database's UTC.
const [{ day }] = await sql`select ((now() at time zone 'Europe/London')::date + 1)::text as day`;

// Demand: lunch and dinner arrivals on the quarter hour, dinner-heavy, mostly couples and fours.
const requests = Array.from({ length: BOOKINGS }, () => {
  const dinner = random() < 0.7;
  // Dinner seatings 17:30–21:00, lunch 12:00–13:30, so that every stay ends before its service closes (23:30,
  // 15:30): parties of seven or more stay 130 minutes, so their lunch starts by 13:15.
  const drawn = dinner ? 17 * 4 + 2 + Math.floor(random() * 15) : 12 * 4 + Math.floor(random() * 7);
  const party = weighted(random, [[2, 45], [3, 10], [4, 24], [5, 6], [6, 8], [7, 3], [8, 3], [10, 0.5]]);
  const slot = !dinner && party >= 7 ? Math.min(drawn, 13 * 4 + 1) : drawn;
  const time = `${String(Math.floor(slot / 4)).padStart(2, "0")}:${String((slot % 4) * 15).padStart(2, "0")}`;
  return { time, party };
});

console.log(`Inserting ${BOOKINGS} bookings for ${day} at ${PER_SECOND}/s (each a plain INSERT)…`);
const ids: string[] = [];
for (const [i, r] of requests.entries()) {
  const [{ id }] = await sql`
    insert into public.bookings (restaurant_id, party_size, start_at)
    values (${RESTAURANT}, ${r.party}, (${day}::date + ${r.time}::time) at time zone 'Europe/London')
    returning id`;
  ids.push(id);
  await progress(i + 1);
  await new Promise((resolve) => setTimeout(resolve, 1000 / PER_SECOND));
}
for (let waited = 0; waited < 30 && (await counts()).open > 0; waited++) {
  await new Promise((resolve) => setTimeout(resolve, 500));
}
await progress(BOOKINGS, true);

async function counts() {
  const [c] = await sql`
    select count(*) filter (where assignment_state = 'confirmed')::int as confirmed,
           count(*) filter (where assignment_state = 'manual_review')::int as review,
           count(*) filter (where assignment_state not in ('confirmed', 'manual_review', 'cancelled'))::int as open
      from public.bookings where id = any(${ids}::uuid[])`;
  return c as unknown as { confirmed: number; review: number; open: number };
}

async function progress(inserted: number, done = false) {
  const interactive = Deno.stdout.isTerminal();
  if (!interactive && !done && inserted % 12 !== 0) return;
  const c = await counts();
  // Under 80 columns, so a terminal that wide never wraps it (a wrapped line is not redrawn by \r).
  const width = 20;
  const bar = "#".repeat(Math.round((inserted / BOOKINGS) * width)).padEnd(width, ".");
  Deno.stdout.writeSync(new TextEncoder().encode(
    `\r[${bar}] ${inserted}/${BOOKINGS} in, ${c.confirmed} confirmed, ${c.review} review, ${c.open} open ` +
      (done || !interactive ? "\n" : ""),
  ));
}

// The first confirmation of each booking: one re-confirmed later (after a move or a change) counts once.
const latencies = (await sql<{ ms: number }[]>`
  select extract(epoch from min(h.created_at) - b.created_at) * 1000 as ms
    from public.bookings b join public.booking_assignment_state_history h on h.booking_id = b.id and h.to_state = 'confirmed'
   where b.id = any(${ids}::uuid[])
   group by b.id, b.created_at`).map((r) => Number(r.ms));
if (latencies.length > 0) {
  console.log(
    `\nInsert → confirmed: p50 ${percentile(latencies, 50).toFixed(0)} ms, p95 ${
      percentile(latencies, 95).toFixed(0)
    } ms, max ${Math.max(...latencies).toFixed(0)} ms`,
  );
}

const [{ moved, helped }] = await sql`
  select count(*)::int as moved, count(distinct context ->> 'for_booking')::int as helped
    from public.observability_events
   where restaurant_id = ${RESTAURANT} and event_type = 'coordinator.booking_moved'`;
if (moved > 0) {
  console.log(`Re-optimisation moved ${moved} not-yet-seated booking(s) to seat ${helped} more.`);
}

const reviewed = await sql<{ id: string; reason: string }[]>`
  select id, manual_review_reason as reason
    from public.bookings where id = any(${ids}::uuid[]) and assignment_state = 'manual_review'`;
const summarise = (rows: { reason: string }[]) =>
  [...Map.groupBy(rows, (r) => reasonCode(r.reason))]
    .map(([reason, group]) => ({ reason, n: group.length, example: group.map((r) => r.reason).sort()[0] }))
    .sort((a, b) => b.n - a.n);
// Reviews for demand are the day's manual-review queue; any other fails the demo (./reviews.ts).
const demandRows = reviewed.filter((r) => isDemand(r.reason));
const demand = summarise(demandRows);
const faults = summarise(reviewed.filter((r) => !isDemand(r.reason)));
if (demand.length > 0) {
  console.log("\nManual review queue (more demand than tables; what an operator sees):");
  for (const r of demand) console.log(`  ${String(r.n).padStart(3)} × ${r.reason}, e.g. "${r.example}"`);
  // What the operator can offer those guests instead: other times nearby at which the party can be seated.
  const queue = await sql<{ party_size: number; starts_local: string; offered: number; note: string }[]>`
    select q.party_size, q.starts_local, coalesce(jsonb_array_length(q.alternatives), 0)::int as offered,
           q.alternatives_note as note
      from ops.manual_review_queue(${RESTAURANT}, p_limit => 1000) q where q.booking_id = any(${
    demandRows.map((r) => r.id)
  }::uuid[])`;
  const example = queue.find((q) => q.offered > 0);
  console.log(
    `  ${
      queue.filter((q) => q.offered > 0).length
    } of ${queue.length} come with other times the guest can be offered` +
      (example
        ? `, e.g. a party of ${example.party_size} at ${example.starts_local.slice(11)}: ${example.note}`
        : ""),
  );
}
if (faults.length > 0) {
  console.log(
    "\nManual review for other reasons (not demand: see docs/operating.md, the manual-review queue):",
  );
  for (const r of faults) console.log(`  ${String(r.n).padStart(3)} × ${r.reason}, e.g. "${r.example}"`);
}

// The dinner floor: one row per table, one column per quarter hour, a letter per booking.
const rows = await sql`
  select t.table_number, t.capacity, z.name as zone,
         coalesce(json_agg(json_build_object(
           'from', extract(epoch from lower(a.during)), 'to', extract(epoch from upper(a.during)),
           'booking', a.booking_id, 'party', b.party_size)) filter (where a.id is not null), '[]') as slots
    from public.restaurant_tables t join public.zones z on z.id = t.zone_id
    left join public.booking_table_assignments a on a.table_id = t.id and a.released_at is null
      and a.booking_id = any(${ids}::uuid[])
    left join public.bookings b on b.id = a.booking_id
   where t.restaurant_id = ${RESTAURANT}
   group by t.table_number, t.capacity, z.name order by z.name, t.table_number`;
const [{ start }] = await sql`
  select extract(epoch from ((${day}::date + time '17:30') at time zone 'Europe/London')) as start`;
const letters = new Map<string, string>();
const symbol = (id: string) => {
  if (!letters.has(id)) {
    letters.set(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"[letters.size % 62]);
  }
  return letters.get(id)!;
};
console.log(
  `\nDinner on ${day} (Europe/London), one column per 15 minutes from 17:30; same letter = same party:`,
);
// Hour marks: column i starts at 17:30 + 15·i minutes, so every fourth column from the third is on the hour.
console.log(
  "                " +
    Array.from({ length: 24 }, (_, i) => (i % 4 === 2 ? String(18 + (i - 2) / 4).slice(-1) : " ")).join(""),
);
for (const row of rows) {
  const cells = Array.from({ length: 24 }, (_, i) => {
    const t = Number(start) + i * 900 + 450;
    const hit = (row.slots as { from: number; to: number; booking: string }[]).find((s) =>
      s.from <= t && t < s.to
    );
    return hit ? symbol(hit.booking) : "·";
  });
  console.log(
    `${row.zone.padEnd(9)} ${String(row.table_number).padEnd(3)}${String(row.capacity).padStart(2)} ${
      cells.join("")
    }`,
  );
}

// The demo is the pipeline's smoke test as much as a show: a day it did not settle is a failure.
const final = await counts();
await sql.end();
const faulted = faults.reduce((sum, r) => sum + r.n, 0);
if (faulted > 0) {
  console.error(
    `\nerror: ${faulted} of ${BOOKINGS} bookings went to manual review for a reason other than demand (above): ` +
      `the pipeline is not running as it should (its processes log to ${
        Deno.env.get("STACK_DIR") ?? ".stack"
      }/logs/)`,
  );
  Deno.exit(1);
}
if (final.open > 0 || final.confirmed === 0) {
  console.error(
    `\nerror: ${final.open} of ${BOOKINGS} bookings still in flight and ${final.confirmed} confirmed 15 s after ` +
      `the last insert: the pipeline is not running as it should (its processes log to ${
        Deno.env.get("STACK_DIR") ?? ".stack"
      }/logs/)`,
  );
  Deno.exit(1);
}
