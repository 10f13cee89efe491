// Driving a run: the room, inserting bookings on a schedule through the real path (INSERT → trigger →
// pg_net → function → RPCs), waiting until they are terminal with a progress line every few seconds, and
// reading every timing and count back from Postgres.
import type postgres from "postgres";
import { createRestaurant, type TableSpec, type TestRestaurant } from "../../../shared/testing/stack.ts";
import { redispatches, round } from "./stats.ts";

const TERMINAL = ["confirmed", "manual_review", "cancelled"];
const PROGRESS_MS = 5000;

/**
 * `copies` × a 20-table room: a chain of eight 2-tops, a chain of eight 4-tops, four fixed 6-tops.
 * Copy k's tables are named A<k>-1 …, B<k>-1 …, C<k>-1 …; chains do not join across copies.
 */
export function room(copies = 1): { tables: TableSpec[]; adjacency: [string, string][] } {
  const tables: TableSpec[] = [];
  const adjacency: [string, string][] = [];
  for (let k = 1; k <= copies; k++) {
    const name = (p: string, i: number) => copies === 1 ? `${p}${i}` : `${p}${k}-${i}`;
    for (let i = 1; i <= 8; i++) tables.push({ number: name("A", i), capacity: 2 });
    for (let i = 1; i <= 8; i++) tables.push({ number: name("B", i), capacity: 4, min: 2 });
    for (let i = 1; i <= 4; i++) tables.push({ number: name("C", i), capacity: 6, min: 4, movable: false });
    for (const p of ["A", "B"]) {
      for (let i = 1; i < 8; i++) adjacency.push([name(p, i), name(p, i + 1)]);
    }
  }
  return { tables, adjacency };
}

export async function createRestaurants(
  admin: postgres.Sql,
  n: number,
  copies = 1,
): Promise<TestRestaurant[]> {
  const out = [];
  for (let i = 0; i < n; i++) out.push(await createRestaurant(admin, room(copies)));
  return out;
}

export interface Booking {
  restaurant: string;
  /** Days from today, and the start as quarter hours after midnight. */
  day: number;
  quarter: number;
  party: number;
}

export interface Offer {
  total: number;
  /** When booking i is inserted, in ms after the offer starts. */
  dueMs: (i: number) => number;
  booking: (i: number) => Booking;
}

export interface Offered {
  ids: string[];
  /** Epoch ms: the first insert was due, the last insert returned. */
  started: number;
  ended: number;
  insert_errors: number;
}

/** Inserts the offer's bookings on schedule (without waiting for one insert before the next is due). */
export async function offer(pool: postgres.Sql, plan: Offer, progress: Progress): Promise<Offered> {
  const ids: string[] = [];
  let errors = 0;
  const started = Date.now();
  progress.begin(started, plan.total, ids);
  const inserts: Promise<void>[] = [];
  for (let i = 0; i < plan.total; i++) {
    const wait = started + plan.dueMs(i) - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const b = plan.booking(i);
    inserts.push(
      pool`insert into public.bookings (restaurant_id, party_size, start_at)
           values (${b.restaurant}, ${b.party},
                   date_trunc('day', now()) + make_interval(days => ${b.day}, mins => ${b.quarter * 15}))
           returning id`.then(([row]) => void ids.push(row.id), (error) => {
        errors++;
        if (errors <= 3) console.error(`  insert failed: ${error.message}`);
      }),
    );
    progress.inserted = i + 1;
  }
  await Promise.all(inserts);
  return { ids, started, ended: Date.now(), insert_errors: errors };
}

/** One status line every few seconds while a run offers and drains. */
export class Progress {
  inserted = 0;
  private total = 0;
  private started = 0;
  private ids: string[] = [];
  private timer: ReturnType<typeof setInterval> | undefined;
  constructor(private admin: postgres.Sql, private label = "") {}

  begin(started: number, total: number, ids: string[]) {
    Object.assign(this, { started, total, ids, inserted: 0 });
    clearInterval(this.timer);
    this.timer = setInterval(() => void this.print().catch(() => {}), PROGRESS_MS);
  }

  async counts(): Promise<{ confirmed: number; review: number; open: number }> {
    const [c] = await readByIndex(this.admin, (sql) =>
      sql`/* bench */
      select count(*) filter (where assignment_state = 'confirmed')::int as confirmed,
             count(*) filter (where assignment_state = 'manual_review')::int as review,
             count(*) filter (where assignment_state <> all(${TERMINAL}))::int as open
        from public.bookings where id = any(${this.ids}::uuid[])`);
    return c as unknown as { confirmed: number; review: number; open: number };
  }

  async print(note = "") {
    const c = await this.counts();
    const t = ((Date.now() - this.started) / 1000).toFixed(0).padStart(4);
    const load = Deno.loadavg()[0].toFixed(2);
    console.log(
      `  ${this.label}t=${t}s inserted ${this.inserted}/${this.total}  confirmed ${c.confirmed}  ` +
        `manual review ${c.review}  open ${c.open + (this.inserted - this.ids.length)}  load ${load}${note}`,
    );
  }

  stop() {
    clearInterval(this.timer);
  }
}

/**
 * Waits until every booking is terminal, or until none has become terminal for `stallSeconds`, or
 * `maxSeconds` have passed. Returns the epoch ms at which it stopped waiting.
 */
export async function drain(progress: Progress, stallSeconds = 60, maxSeconds = 900): Promise<number> {
  const start = Date.now();
  let open = (await progress.counts()).open, lastChange = Date.now();
  while (
    open > 0 && Date.now() - lastChange < stallSeconds * 1000 && Date.now() - start < maxSeconds * 1000
  ) {
    // Once a second: each look is a query over every id of the run (tens of thousands in a long overload).
    await new Promise((r) => setTimeout(r, 1000));
    const now = (await progress.counts()).open;
    if (now !== open) lastChange = Date.now();
    open = now;
  }
  progress.stop();
  await progress.print(open > 0 ? `  (gave up waiting: ${open} open)` : "  (all terminal)");
  return Date.now();
}

/**
 * The benchmark's own reads of bookings while a run is measured, through the indexes (and without JIT, which a
 * plan so costed would otherwise compile), so that the rows read by sequential scans it reports are the
 * pipeline's alone: its look over every id of a run would otherwise read the table whole every few seconds. On
 * a connection of its own, set and reset by statements tagged as the benchmark's (a transaction's bare BEGIN and
 * COMMIT would count as the pipeline's statements).
 */
async function readByIndex<T>(
  admin: postgres.Sql,
  read: (sql: postgres.ReservedSql) => Promise<T>,
): Promise<T> {
  const connection = await admin.reserve();
  try {
    await connection`/* bench */ select set_config('enable_seqscan', 'off', false), set_config('jit', 'off', false)`;
    return await read(connection);
  } finally {
    await connection`/* bench */ select set_config(name, reset_val, false) from pg_settings
                       where name in ('enable_seqscan', 'jit')`.catch(() => {});
    connection.release();
  }
}

/** Samples how many bookings of a restaurant are in progress, every `everyMs`, until stopped. */
export function sampleInProgress(admin: postgres.Sql, restaurant: string, everyMs = 50) {
  let max = 0, samples = 0, running = true;
  // One connection for the whole sampling, set once: a sample every 50 ms is one statement.
  const loop = readByIndex(admin, async (sql) => {
    while (running) {
      const [{ n }] = await sql`/* bench */
        select count(*)::int as n from public.bookings
         where restaurant_id = ${restaurant} and assignment_state = 'assignment_in_progress'`;
      max = Math.max(max, n);
      samples++;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  });
  return async () => {
    running = false;
    await loop;
    return { max_in_progress_sampled: max, samples };
  };
}

export interface Timing {
  /** Seconds after the offer started: inserted, first attempt started, confirmed, terminal (null if not). */
  inserted: number;
  started: number | null;
  confirmed: number | null;
  terminal: number | null;
}

/**
 * Every timing comes from Postgres (bookings.created_at, the attempt's start event, the history rows). A
 * history row's created_at is its transaction's start, so "confirmed" is when the confirming transaction
 * began: the commit's lock wait and writes (its time per call is in the statement table) are left out. Commit
 * timestamps would include them, but track_commit_timestamp raised Postgres CPU per booking in the drop by
 * half (15–17 → 24 ms), which would change what is measured; hosted Supabase runs without it.
 */
export async function timings(admin: postgres.Sql, ids: string[], origin: number): Promise<Timing[]> {
  const rows = await admin<{ inserted: number; started: number; confirmed: number; terminal: number }[]>`
    select extract(epoch from b.created_at)::float8 * 1000 as inserted,
           (select extract(epoch from min(e.created_at))::float8 * 1000 from public.observability_events e
             where e.booking_id = b.id and e.event_type in ('coordinator.start', 'auto_assign.attempt.start'))
             as started,
           (select extract(epoch from min(h.created_at))::float8 * 1000
              from public.booking_assignment_state_history h
             where h.booking_id = b.id and h.to_state = 'confirmed') as confirmed,
           (select extract(epoch from min(h.created_at))::float8 * 1000
              from public.booking_assignment_state_history h
             where h.booking_id = b.id and h.to_state = any(${TERMINAL})) as terminal
      from public.bookings b where b.id = any(${ids}::uuid[])`;
  const s = (ms: number | null) => ms === null ? null : (ms - origin) / 1000;
  return rows.map((r) => ({
    inserted: s(r.inserted)!,
    started: s(r.started),
    confirmed: s(r.confirmed),
    terminal: s(r.terminal),
  }));
}

/** Outcomes, contention and re-dispatches, safety. */
export async function outcomes(admin: postgres.Sql, ids: string[]) {
  const [o] = await admin`
    select count(*) filter (where assignment_state = 'confirmed')::int as confirmed,
           count(*) filter (where assignment_state = 'manual_review')::int as manual_review,
           count(*) filter (where assignment_state = 'manual_review' and coalesce(manual_review_reason, '') = '')::int
             as manual_review_without_reason,
           count(*) filter (where assignment_state = 'cancelled')::int as cancelled,
           count(*) filter (where assignment_state <> all(${TERMINAL}))::int as open
      from public.bookings where id = any(${ids}::uuid[])`;
  const reasons = await admin<{ reason: string; n: number }[]>`
    select split_part(manual_review_reason, ':', 1) as reason, count(*)::int as n
      from public.bookings where id = any(${ids}::uuid[]) and assignment_state = 'manual_review'
     group by 1 order by 2 desc`;
  // A pick-up is a begin that started an attempt or deferred the booking (rate limited, circuit open,
  // busy); a retry after a failed attempt shows as the next attempt's start.
  const [e] = await admin`
    select count(*) filter (where event_type in ('coordinator.commit_conflict', 'auto_assign.commit_conflict'))::int
             as conflicts,
           count(*) filter (where event_type in ('coordinator.lock_contention', 'auto_assign.lock_contention'))::int
             as lock_contention,
           count(*) filter (where event_type in ('coordinator.retry', 'auto_assign.retry_scheduled')
                              and context ->> 'reason' = 'rate_limited')::int as rate_limited,
           count(*) filter (where event_type = 'coordinator.circuit_open')::int as circuit_open,
           count(*) filter (where event_type in ('coordinator.error', 'auto_assign.attempt_error'))::int as errors,
           count(*)::int as events
      from public.observability_events where booking_id = any(${ids}::uuid[])`;
  const pickups = await admin<{ n: number }[]>`
    select count(*)::int as n from public.observability_events
     where booking_id = any(${ids}::uuid[])
       and (event_type in ('coordinator.start', 'auto_assign.attempt.start', 'coordinator.circuit_open',
                           'coordinator.lock_contention', 'auto_assign.lock_contention')
            or (event_type in ('coordinator.retry', 'auto_assign.retry_scheduled')
                and context ->> 'reason' = 'rate_limited'))
     group by booking_id`;
  // Waits recorded by begin (the restaurant lock, a concurrency slot) and by commit (the restaurant lock).
  const [w] = await admin`
    select coalesce(percentile_disc(0.95) within group (order by (context ->> 'lock_wait_ms')::numeric), 0)::float8
             as lock_wait,
           coalesce(percentile_disc(0.95) within group (order by (context ->> 'slot_wait_ms')::numeric)
             filter (where event_type in ('coordinator.start', 'auto_assign.attempt.start')), 0)::float8 as slot_wait
      from public.observability_events
     where booking_id = any(${ids}::uuid[])
       and event_type in ('coordinator.start', 'auto_assign.attempt.start', 'coordinator.confirmed',
                          'auto_assign.succeeded')`;
  // Overlapping holds on a table: the exclusion constraint on the holds refuses them, so this stays 0 unless the
  // constraint is gone. What can go wrong despite it is counted as seating faults: a confirmed booking whose
  // holds do not cover its whole stay or seat its party, or a booking holding tables in a state that holds none.
  const [{ double_bookings, seating_faults }] = await admin`
    select (select count(*)::int from public.booking_table_assignments a
              join public.booking_table_assignments b
                on a.table_id = b.table_id and a.id < b.id and a.during && b.during
             where a.released_at is null and b.released_at is null
               and (a.booking_id = any(${ids}::uuid[]) or b.booking_id = any(${ids}::uuid[]))) as double_bookings,
           (select count(*)::int from public.bookings bk
              cross join lateral (
                select count(*) as holds, coalesce(sum(t.capacity), 0) as seats,
                       coalesce(bool_and(a.during @> private.blocked_window(bk)), false) as covered
                  from public.booking_table_assignments a join public.restaurant_tables t on t.id = a.table_id
                 where a.booking_id = bk.id and a.released_at is null) h
             where bk.id = any(${ids}::uuid[])
               and ((bk.assignment_state = 'confirmed' and (h.holds = 0 or h.seats < bk.party_size or not h.covered))
                    or (not private.state_holds_tables(bk.assignment_state) and h.holds > 0))) as seating_faults`;
  const n = ids.length || NaN;
  return {
    confirmed: o.confirmed as number,
    manual_review: o.manual_review as number,
    manual_review_without_reason: o.manual_review_without_reason as number,
    manual_review_reasons: Object.fromEntries(reasons.map((r) => [r.reason, r.n])),
    cancelled: o.cancelled as number,
    open: o.open as number,
    errors: e.errors as number,
    conflicts: e.conflicts as number,
    lock_contention: e.lock_contention as number,
    rate_limited_retries: e.rate_limited as number,
    circuit_open_deferrals: e.circuit_open as number,
    lock_wait_p95_ms: round(w.lock_wait),
    slot_wait_p95_ms: round(w.slot_wait),
    events_per_booking: round(e.events / n, 2),
    redispatches_per_booking: round(redispatches(pickups.map((p) => p.n)) / n, 3),
    double_bookings: double_bookings as number,
    seating_faults: seating_faults as number,
  };
}

/**
 * First come, first served in a drop: the bookings sent to review while one inserted after them, for the same
 * party size and start, was confirmed (each counted once), the share of pairs whose first attempts began in
 * the other order than their inserts, and the most bookings inserted after one that began before it.
 */
export async function arrivalOrder(admin: postgres.Sql, ids: string[]) {
  const [r] = await admin`
    with b as (select id, created_at, party_size, start_at, assignment_state from public.bookings
                where id = any(${ids}::uuid[])),
         began as (select b.id, b.created_at, min(h.created_at) as at
                     from b join public.booking_assignment_state_history h
                       on h.booking_id = b.id and h.to_state = 'assignment_in_progress'
                    group by b.id, b.created_at),
         overtaken as (select a.id, count(*) as n from began a join began l on l.created_at > a.created_at and l.at < a.at
                        group by a.id)
    select (select count(distinct a.id) from b a join b l
              on l.created_at > a.created_at and l.party_size = a.party_size and l.start_at = a.start_at
             where a.assignment_state = 'manual_review' and l.assignment_state = 'confirmed')::int as refused,
           -- Pairs in insert order: for each booking, those inserted strictly after it.
           (coalesce((select sum(n) from overtaken), 0)
              / nullif((select sum(k) from (select rank() over (order by created_at desc) - 1 as k from began) p), 0)
           )::float8 as out_of_order,
           coalesce((select max(n) from overtaken), 0)::int as most_overtaken`;
  return {
    refused_while_a_later_one_was_seated: r.refused as number,
    begun_out_of_order_share: round((r.out_of_order as number | null) ?? 0, 3),
    most_overtaken: r.most_overtaken as number,
  };
}

export async function maxParallel(admin: postgres.Sql, restaurant: string): Promise<number> {
  const [{ n }] = await admin`select (private.settings_for(${restaurant}::uuid)).max_parallel as n`;
  return n;
}

/**
 * What each booking leaves behind: rows per booking, and bytes per booking as row data (pg_column_size of
 * each row plus 28 bytes of tuple header and line pointer) and on disk (the table's share, with its indexes
 * and TOAST, after VACUUM; valid on the fresh stack scripts/bench-pipeline starts).
 */
export async function storagePerBooking(admin: postgres.Sql, ids: string[]) {
  const stored = [
    ["observability_events", "booking_id"],
    ["booking_assignment_state_history", "booking_id"],
    ["booking_table_assignments", "booking_id"],
    ["booking_assignment_attempts", "booking_id"],
    ["notification_outbox", "booking_id"],
    ["bookings", "id"],
  ] as const;
  await admin.unsafe(`vacuum (analyze) ${stored.map(([t]) => `public.${t}`).join(", ")}`);
  const out: Record<
    string,
    { rows_per_booking: number; row_bytes_per_booking: number; disk_bytes_per_booking: number }
  > = {};
  for (const [table, key] of stored) {
    const [row] = await admin.unsafe(
      `select count(*)::bigint as rows, coalesce(sum(pg_column_size(t.*) + 28), 0)::bigint as bytes,
              (select count(*) from public.${table})::bigint as all_rows,
              pg_total_relation_size('public.${table}')::bigint as disk
         from public.${table} t where t.${key} = any($1::uuid[])`,
      [ids],
    );
    const share = Number(row.all_rows) > 0 ? Number(row.rows) / Number(row.all_rows) : 0;
    out[table] = {
      rows_per_booking: round(Number(row.rows) / ids.length, 2),
      row_bytes_per_booking: Math.round(Number(row.bytes) / ids.length),
      disk_bytes_per_booking: Math.round((Number(row.disk) * share) / ids.length),
    };
  }
  return out;
}
