// Delivery worker for the local pg_net stand-in (scripts/local-stack/pg-net-standin.sql); only used when
// the real pg_net is absent. Like pg_net 0.20's background worker it takes queued requests in batches,
// performs them concurrently (scripts/local-stack/pg-net-http.ts) and records each result in
// net._http_response, all in one transaction per batch: until the batch's last request has finished (or timed
// out) its requests are still in net.http_request_queue for every other session, and their responses appear
// with the dequeue, at the batch's commit, stamped with its start.
//
// Delivery is at least once, as with pg_net: a batch whose transaction fails (a response the table refuses,
// a connection dropped) is rolled back, so its requests go back to the queue, and the worker starts again a
// second later, as the postmaster restarts pg_net's worker once it has exited on the error, and sends them
// again (a crash of Postgres empties the unlogged queue instead, as it does pg_net's). net.worker_restart()
// asks for a restart the same way: taken between batches, never during one.
//
// Woken by the NOTIFY that net.http_post sends, which Postgres delivers at COMMIT, and it polls every
// second for requests queued while it was away. When Postgres goes away (a crash, a restart) it drops its
// connections and reconnects until Postgres is back, listening again, as pg_net's worker comes back with
// Postgres; scripts/stack also restarts the process if it ever exits.
//
// Environment:
//   SUPABASE_DB_URL          the database (scripts/lib/env.sh sets it)
//   PG_NET_BATCH_SIZE        requests per batch (pg_net.batch_size, default 200)
//   PG_NET_BATCH_DELAY_MS    opt-in: wait this long after each batch, as pg_net's worker waits up to 1 s
//                            (set 1000 to see hosted dispatch delays: commit → receive p50 ≈ 0.5 s); as
//                            with pg_net, only the first wake after a drain starts cuts a wait short.
//                            Default 0: deliver as soon as woken.
import postgres from "postgres";
import { perform, type QueuedRequest, type ResponseRow } from "./pg-net-http.ts";

const DB_URL = Deno.env.get("SUPABASE_DB_URL") ?? "postgresql://postgres:postgres@127.0.0.1:54322/postgres";
const BATCH_SIZE = Number(Deno.env.get("PG_NET_BATCH_SIZE") ?? 200);
const BATCH_DELAY_MS = Number(Deno.env.get("PG_NET_BATCH_DELAY_MS") ?? 0);
const TTL = "6 hours";
const CHANNEL = "pg_net_standin_wake";
const RETRY_MS = 1000;
/** pg_net's bgw_restart_time: the postmaster starts its worker again a second after it exited. */
const RESTART_MS = 1000;
const COLUMNS = [
  "id",
  "status_code",
  "content_type",
  "headers",
  "content",
  "timed_out",
  "error_msg",
] as const;

type Sql = postgres.Sql;

function log(message: string): void {
  console.log(`${new Date().toISOString()} pg_net stand-in: ${message}`);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** One batch in one transaction, as pg_net's worker runs it; how many rows it expired and consumed. */
async function runBatch(sql: Sql): Promise<number> {
  return await sql.begin(async (tx) => {
    const expired = await tx`
      with rows as (select ctid from net._http_response where created < now() - ${TTL}::interval
                     order by created limit ${BATCH_SIZE})
      delete from net._http_response r using rows where r.ctid = rows.ctid`;
    const requests = await tx<QueuedRequest[]>`
      with rows as (select id from net.http_request_queue order by id limit ${BATCH_SIZE})
      delete from net.http_request_queue q using rows where q.id = rows.id
      returning q.id, q.method, q.url, q.headers, q.body, q.timeout_milliseconds`;
    if (requests.length > 0) {
      const responses: ResponseRow[] = await Promise.all(requests.map(perform));
      await tx`insert into net._http_response ${tx(responses, ...COLUMNS)}`;
    }
    return expired.count + requests.length;
  });
}

let sql: Sql | null = null;
let draining = false;
/** pg_net's should_wake: set by a wake, consumed when a drain starts. */
let woken = false;
let endPause: (() => void) | null = null;
/** pg_net's got_restart: set by net.worker_restart(), taken between batches. */
let restartAsked = false;

function pause(): Promise<void> {
  if (BATCH_DELAY_MS <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, BATCH_DELAY_MS);
    function done() {
      clearTimeout(timer);
      endPause = null;
      resolve();
    }
    endPause = done;
  });
}

/** A notification on the channel: net.wake()'s, or net.worker_restart()'s. */
function notified(payload: string): void {
  if (payload !== "restart") return wake();
  restartAsked = true;
  // As pg_net's latch, it also ends the wait between batches.
  endPause?.();
  if (!draining) void restart();
}

function restart(): Promise<void> {
  restartAsked = false;
  return reconnect("restarting, as net.worker_restart() asked", RESTART_MS);
}

function wake(): void {
  const first = !woken;
  woken = true;
  if (first) endPause?.();
  void drain();
}

async function drain(): Promise<void> {
  if (draining || sql === null) return;
  draining = true;
  const client = sql;
  try {
    while (woken && !restartAsked) {
      woken = false;
      let done: number;
      do {
        done = await runBatch(client);
        await pause();
      } while (done > 0 && !restartAsked);
    }
    if (restartAsked) void restart();
  } catch (error) {
    void reconnect(
      `batch rolled back, its requests queued again to be sent again (${describe(error)})`,
      RESTART_MS,
    );
  } finally {
    draining = false;
  }
}

let reconnecting = false;

/** Drops the client (and its LISTEN) and connects afresh after `delayMs`, retrying until Postgres accepts. */
async function reconnect(reason: string, delayMs = 0): Promise<void> {
  if (reconnecting) return;
  reconnecting = true;
  log(`${reason}; connecting`);
  const old = sql;
  sql = null;
  // A client whose server went away can fail in its own internals; it is discarded either way.
  old?.end({ timeout: 0 }).catch(() => {});
  await new Promise((resolve) => setTimeout(resolve, delayMs));
  for (;;) {
    // pg_net has one worker: connections of an earlier client still open once this one has connected (one
    // that reconnected by itself while its client was being ended, in a crash of Postgres) are ended below.
    // (One that an ended client opens later still, retrying in the background, is ended at the next restart.)
    const connectingSince = new Date();
    const client = postgres(DB_URL, {
      prepare: false,
      max: 2,
      connection: { application_name: "pg_net_standin_worker" },
      onnotice: () => {},
    });
    try {
      await client.listen(CHANNEL, notified);
      await client`
        select pg_terminate_backend(pid) from pg_stat_activity
         where application_name = 'pg_net_standin_worker' and backend_start < ${connectingSince}`;
      sql = client;
      break;
    } catch (error) {
      client.end({ timeout: 0 }).catch(() => {});
      log(`cannot connect yet (${describe(error)}); retrying in ${RETRY_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }
  reconnecting = false;
  log(`delivering from ${new URL(DB_URL).host}`);
  // Requests queued while the worker was away are delivered now, as with pg_net.
  wake();
}

// postgres.js can fail inside its connection code when the server vanishes mid-reconnect (an uncaught
// TypeError in connection.js); that must cost a reconnect, not the process.
globalThis.addEventListener("unhandledrejection", (event) => {
  event.preventDefault();
  void reconnect(`database client failed (${describe(event.reason)})`);
});
globalThis.addEventListener("error", (event) => {
  event.preventDefault();
  void reconnect(`database client failed (${describe(event.error)})`);
});

setInterval(() => {
  if (!draining) wake();
}, 1000);
await reconnect("starting");
