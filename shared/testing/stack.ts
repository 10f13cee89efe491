// Helpers for tests that run against the local stack (scripts/stack start): database access, the Data API
// as a platform reaches it, the functions' URL and secret, restaurants made to order, and polling for the
// pipeline to finish.
import postgres from "postgres";
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import type { Database, TablesInsert } from "../database.types.ts";
import { type PostgrestStandIn, startPostgrest } from "./postgrest/server.ts";
import { DRAIN_IDLE_MS, DRAIN_POLL_MS } from "../coordinator/handler.ts";
import type { AssignmentStore } from "../store/port.ts";

/** The local stack's database. These helpers create restaurants, insert bookings, reset statistics and replace
 * Vault secrets, and SUPABASE_DB_URL is also what a deployed function reads: a shell holding a hosted project's
 * (a benchmark run with `deno run` instead of its wrapper, which sets the local one) is refused. */
export const DB_URL = localDatabase(
  Deno.env.get("SUPABASE_DB_URL") ?? "postgresql://postgres:postgres@127.0.0.1:54322/postgres",
);

function localDatabase(url: string): string {
  const host = URL.canParse(url) ? new URL(url).hostname : "";
  if (!["127.0.0.1", "localhost", "[::1]"].includes(host)) {
    throw new Error(
      `SUPABASE_DB_URL reaches ${
        host || "an unreadable address"
      }, not this machine: the test and benchmark ` +
        "helpers write to the database they are given, so they run against the local stack only " +
        "(use the scripts/ wrappers, which point them at it)",
    );
  }
  return url;
}
export const FUNCTIONS_URL = Deno.env.get("FUNCTIONS_URL") ?? "http://127.0.0.1:54321/functions/v1";
/** The running stack's state directory (scripts/lib/env.sh exports it; each PG_PORT has its own). */
export const STACK_DIR = Deno.env.get("STACK_DIR") ?? new URL("../../.stack", import.meta.url).pathname;
export const SINK_FILE = `${STACK_DIR}/notifications.jsonl`;

/** Runs one of the project's scripts (scripts/<name>) to its end; its error output is the failure's message. */
export async function runScript(script: string, ...args: string[]): Promise<void> {
  const root = new URL("../../", import.meta.url).pathname;
  const { code, stderr } = await new Deno.Command(`${root}scripts/${script}`, {
    args,
    stdout: "null",
    stderr: "piped",
  })
    .output();
  if (code !== 0) {
    throw new Error(`scripts/${script} ${args.join(" ")} failed: ${new TextDecoder().decode(stderr)}`);
  }
}

/** The login role PostgREST connects as (scripts/local-stack/supabase-roles.sql creates it). */
export function authenticatorUrl(): string {
  const url = new URL(DB_URL);
  url.username = "authenticator";
  url.password = "postgres";
  return url.toString();
}

let dataApi: Promise<{ standIn: PostgrestStandIn; platform: SupabaseClient<Database> }> | undefined;

/**
 * The Data API of the local stack (the PostgREST stand-in, started on first use and kept for the test
 * process) and a platform's client of it: supabase-js with the service-role key.
 */
export function localDataApi(): Promise<{ standIn: PostgrestStandIn; platform: SupabaseClient<Database> }> {
  dataApi ??= startPostgrest(authenticatorUrl()).then((standIn) => ({
    standIn,
    platform: createClient<Database>(standIn.url, standIn.keys.serviceRole, {
      auth: { persistSession: false, autoRefreshToken: false },
    }),
  }));
  return dataApi;
}

export function pipelineSecret(): string {
  return Deno.readTextFileSync(`${STACK_DIR}/pipeline-secret`).trim();
}

export function connect(max = 4): postgres.Sql {
  return postgres(DB_URL, { prepare: false, max, onnotice: () => {} });
}

export interface TableSpec {
  /** A chosen id (any Postgres accepts); a random one otherwise. */
  id?: string;
  number: string;
  capacity: number;
  min?: number;
  max?: number;
  movable?: boolean;
  zone?: string;
}

export interface RestaurantSpec {
  /** A chosen id; a random one otherwise. */
  id?: string;
  tables: TableSpec[];
  adjacency?: [string, string][];
  maxParallel?: number;
}

export interface TestRestaurant {
  id: string;
  tableIds: Map<string, string>;
  /**
   * Inserts a booking as a platform does: through the Data API as service_role. `db`: a connection or a
   * transaction to insert in with SQL instead.
   */
  insertBooking(
    partySize: number,
    startAt: string,
    db?: postgres.Sql | postgres.TransactionSql,
  ): Promise<string>;
}

/** A restaurant open at all hours with the given tables (zone "Main" unless said otherwise). */
export async function createRestaurant(sql: postgres.Sql, spec: RestaurantSpec): Promise<TestRestaurant> {
  const [{ id }] = await sql<{ id: string }[]>`
    insert into public.restaurants (id, name)
    values (coalesce(${
    spec.id ?? null
  }::uuid, gen_random_uuid()), 'Test ' || gen_random_uuid()) returning id`;
  const zones = new Map<string, string>();
  for (const zone of new Set(spec.tables.map((t) => t.zone ?? "Main"))) {
    const [z] = await sql<{ id: string }[]>`
      insert into public.zones (restaurant_id, name) values (${id}, ${zone}) returning id`;
    zones.set(zone, z.id);
  }
  const tableIds = new Map<string, string>();
  for (const t of spec.tables) {
    const [row] = await sql<{ id: string }[]>`
      insert into public.restaurant_tables
        (id, restaurant_id, zone_id, table_number, capacity, min_party_size, max_party_size, movable)
      values (coalesce(${t.id ?? null}::uuid, gen_random_uuid()), ${id}, ${zones.get(
      t.zone ?? "Main",
    )!}, ${t.number}, ${t.capacity}, ${t.min ?? 1},
              ${t.max ?? t.capacity}, ${t.movable ?? true})
      returning id`;
    tableIds.set(t.number, row.id);
  }
  for (const [a, b] of spec.adjacency ?? []) {
    await sql`insert into public.table_adjacency (restaurant_id, table_a, table_b)
              values (${id}, ${tableIds.get(a)!}, ${tableIds.get(b)!})`;
  }
  if (spec.maxParallel) {
    await sql`insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel)
              values (${id}, ${spec.maxParallel})`;
  }
  return {
    id,
    tableIds,
    async insertBooking(partySize, startAt, db) {
      const guest = {
        customer_name: "Ada Lovelace",
        customer_email: "ada@example.com",
        customer_phone: "+44 20 7946 0958",
      };
      if (db) {
        const [b] = await db<{ id: string }[]>`
          insert into public.bookings ${
          db({ restaurant_id: id, party_size: partySize, start_at: startAt, ...guest })
        }
          returning id`;
        return b.id;
      }
      const { platform } = await localDataApi();
      // end_at is left out: the turn-time trigger derives it, which the generated Insert type cannot know.
      const booking = { restaurant_id: id, party_size: partySize, start_at: startAt, ...guest };
      const { data, error } = await platform.from("bookings")
        .insert(booking as TablesInsert<"bookings">)
        .select("id").single();
      if (error) throw new Error(`inserting a booking through the Data API: ${error.code} ${error.message}`);
      return data.id;
    },
  };
}

/** The numbers of the tables a booking holds now (released assignments are history), in table order. */
export async function activeTables(sql: postgres.Sql, bookingId: string): Promise<string[]> {
  const rows = await sql<{ table_number: string }[]>`
    select t.table_number from public.booking_table_assignments a
      join public.restaurant_tables t on t.id = a.table_id
     where a.booking_id = ${bookingId} and a.released_at is null order by t.table_number`;
  return rows.map((r) => r.table_number);
}

/** Poll until `check` returns a value other than undefined, or fail with `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Waits for the sweeper's first run since Postgres last started. Debian's pg_cron 1.4 starts the sweeper job
 * on the minute, so for up to a minute after a crash nothing sweeps: a test that crashes Postgres waits for it,
 * so that the next test does not meet a database nobody sweeps (a booking left to the sweeper would wait).
 */
export async function waitForSweeperAfterRestart(sql: postgres.Sql): Promise<void> {
  await waitFor("the sweeper to run again after the restart", async () => {
    const [row] = await sql`
      select 1 from cron.job_run_details d join cron.job j on j.jobid = d.jobid
       where j.jobname = 'assignment-sweeper' and d.start_time >= pg_postmaster_start_time()`;
    return row ? true : undefined;
  }, 90_000);
}

const TERMINAL = ["confirmed", "manual_review", "cancelled"];

/**
 * Wait until every booking is in a terminal state; returns their states by id. On a timeout the error tells
 * where each booking that is not done stands (see bookingTrace), so a failure far away can be read from its
 * log alone.
 */
export async function waitForTerminal(
  sql: postgres.Sql,
  ids: string[],
  timeoutMs = 15_000,
): Promise<Map<string, string>> {
  try {
    return await waitFor(`${ids.length} bookings to reach a terminal state`, async () => {
      const rows = await sql<{ id: string; assignment_state: string }[]>`
        select id, assignment_state from public.bookings where id = any(${ids}::uuid[])`;
      if (!rows.every((r) => TERMINAL.includes(r.assignment_state))) return undefined;
      // In the order of `ids`, whatever order the rows came in, so a test may read the states by position.
      const states = new Map(rows.map((r) => [r.id, r.assignment_state]));
      return new Map(ids.filter((id) => states.has(id)).map((id) => [id, states.get(id)!]));
    }, timeoutMs);
  } catch (error) {
    // The timeout is the failure; a trace that cannot be read (the database gone) must not replace it.
    const trace = await bookingTrace(sql, ids).catch((e) => `(no trace: ${e})`);
    throw new Error(`${error instanceof Error ? error.message : error}\n${trace}`);
  }
}

/**
 * Where the bookings not yet terminal stand, and how they got there: their queue fields, every state change
 * and event with its age, their restaurant's slots, and the dispatch queue. Times are milliseconds before now.
 */
export async function bookingTrace(sql: postgres.Sql, ids: string[]): Promise<string> {
  const rows = await sql`
    select b.id, b.restaurant_id, b.assignment_state as state, b.attempt_count, b.dispatch_count,
           round(extract(epoch from clock_timestamp() - b.created_at) * 1000) as age_ms,
           round(extract(epoch from b.next_attempt_at - clock_timestamp()) * 1000) as due_in_ms,
           b.deferred_since is not null as deferred,
           (select max_parallel from private.settings_for(b.restaurant_id)) as max_parallel,
           private.slots_taken(b.restaurant_id, clock_timestamp()) as slots_taken_up_to_max_parallel,
           (select string_agg(format('%s→%s @-%sms (%s)', h.from_state, h.to_state,
                                     round(extract(epoch from clock_timestamp() - h.created_at) * 1000),
                                     coalesce(h.metadata ->> 'trigger', h.actor)), '; ' order by h.id)
              from public.booking_assignment_state_history h where h.booking_id = b.id) as history,
           (select string_agg(format('%s @-%sms', e.event_type,
                                     round(extract(epoch from clock_timestamp() - e.created_at) * 1000)), '; '
                              order by e.created_at)
              from public.observability_events e where e.booking_id = b.id) as events
      from public.bookings b
     where b.id = any(${ids}::uuid[]) and b.assignment_state <> all(${TERMINAL}::text[])`;
  const [{ queued }] = await sql`select count(*)::int as queued from net.http_request_queue`;
  return [
    `${rows.length} of ${ids.length} not terminal; ${queued} requests in pg_net's queue`,
    ...rows.map((r) => JSON.stringify(r)),
  ].join("\n");
}

/**
 * Wait until no coordinator is at work: nothing is queued for the functions, and no coordinator connection
 * has done anything for longer than a claim loop polls with nothing to do before it ends, twice in a row a
 * little apart (a request just taken from the queue reaches its coordinator in between). A loop still running
 * from earlier bookings would otherwise claim a paused test's new bookings (the claim loop takes new bookings
 * nobody claimed after 250 ms), however dispatch is paused.
 */
async function untilCoordinatorsIdle(sql: postgres.Sql): Promise<void> {
  const lingerSeconds = (DRAIN_IDLE_MS + 2 * DRAIN_POLL_MS) / 1000;
  const idle = async () => {
    const [{ busy }] = await sql<{ busy: boolean }[]>`
      select exists (select 1 from net.http_request_queue)
             or exists (select 1 from pg_stat_activity
                         where application_name = 'assignment-coordinator' and pid <> pg_backend_pid()
                           and (state <> 'idle' or state_change > now() - make_interval(secs => ${lingerSeconds})))
             as busy`;
    return !busy;
  };
  await waitFor("the coordinators to finish what they were doing", async () => {
    if (!(await idle())) return undefined;
    await new Promise((r) => setTimeout(r, 250));
    return (await idle()) ? true : undefined;
  }, 30_000);
}

/**
 * Hold a restaurant's lock (the one every begin takes first) on a connection of its own, so that the begins of
 * its bookings queue up behind it until `release` (idempotent). `key` is the lock's key, to find those waiting
 * in pg_locks.
 */
export async function holdRestaurantLock(
  sql: postgres.Sql,
  restaurantId: string,
): Promise<{ key: string; release: () => Promise<void> }> {
  return await holdLock(sql, "restaurant", restaurantId);
}

/** Hold the pipeline's advisory lock `private.lock_key(scope, id)` in a transaction of its own until `release`. */
export async function holdLock(
  sql: postgres.Sql,
  scope: string,
  id: string,
): Promise<{ key: string; release: () => Promise<void> }> {
  const [{ key }] = await sql<{ key: string }[]>`select private.lock_key(${scope}, ${id})::text as key`;
  const { release } = await holdOpen((tx) => tx`select pg_advisory_xact_lock(${key}::bigint)`);
  return { key, release };
}

/**
 * Run `work` in a transaction of its own, on a connection of its own, and keep that transaction open, with
 * what it wrote uncommitted and the locks it took held, until `release` commits it. Resolves once `work` is
 * done; a `work` that fails rejects, and its transaction is gone.
 */
export async function holdOpen(
  work: (tx: postgres.TransactionSql) => Promise<unknown>,
): Promise<{ release: () => Promise<void> }> {
  const gate = connect(1);
  let open = () => {};
  const opened = new Promise<void>((resolve) => (open = resolve));
  let done = () => {};
  const isDone = new Promise<void>((resolve) => (done = resolve));
  const holding = gate.begin(async (tx) => {
    await work(tx);
    done();
    await opened;
  });
  try {
    await Promise.race([isDone, holding]);
  } catch (error) {
    await gate.end();
    throw error;
  }
  let released: Promise<void> | undefined;
  // Safe to call again (a test's finally after its own release).
  const release = () => released ??= (open(), holding.finally(() => gate.end()));
  return { release };
}

/** A message the sink sender delivered: what the guest would read, without the recipient. */
export interface SinkLine {
  booking_id: string;
  kind: string;
  idempotency_key: string;
  booking: { status: string; start_at: string; end_at: string; party_size: number; seq: number };
}

export function sinkLines(): SinkLine[] {
  try {
    return Deno.readTextFileSync(SINK_FILE).split("\n").filter(Boolean).map((l) => JSON.parse(l));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

export async function postToFunction(name: string, body: unknown, secret: string | null = pipelineSecret()) {
  const response = await fetch(`${FUNCTIONS_URL}/${name}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(secret ? { authorization: `Bearer ${secret}` } : {}) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/** Leases `bookingId` through `store` and ends the attempt as nothing fitting: the booking goes to review. */
export async function sendToReview(store: AssignmentStore, bookingId: string): Promise<void> {
  const begun = await store.begin({ bookingId, trigger: "test" });
  if (begun.outcome !== "ready") throw new Error(`the lease answered ${begun.outcome}`);
  const failed = await store.fail({
    bookingId,
    leaseToken: begun.lease_token,
    kind: "no_fit",
    reason: "no_table_fits: test",
    durationMs: 1,
    details: {},
  });
  if (failed.outcome !== "manual_review") throw new Error(`the attempt's end answered ${failed.outcome}`);
}

/** A random future day, so tests never share time windows. */
export function someDay(): string {
  // A random day from a month to about three years ahead: inside the horizon a booking may start in.
  const day = new Date(Date.now() + (30 + Math.floor(Math.random() * 1000)) * 86_400_000);
  return day.toISOString().slice(0, 10);
}

/**
 * Run `body` with dispatch to the coordinator paused (its URL taken out of Vault), so neither the insert
 * trigger nor the sweeper moves the test's bookings: only the test does.
 */
export async function withDispatchPaused<T>(sql: postgres.Sql, body: () => Promise<T>): Promise<T> {
  const [saved] = await sql`
    select decrypted_secret from vault.decrypted_secrets where name = 'assignment_functions_url'`;
  if (!saved) throw new Error("dispatch is not configured (run scripts/stack start)");
  await sql`delete from vault.secrets where name = 'assignment_functions_url'`;
  try {
    await untilCoordinatorsIdle(sql);
    return await body();
  } finally {
    await sql`select vault.create_secret(${saved.decrypted_secret}, 'assignment_functions_url')`;
  }
}
