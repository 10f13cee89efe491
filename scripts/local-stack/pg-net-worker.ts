// Delivery worker for the local pg_net stand-in (scripts/local-stack/pg-net-standin.sql); only used when
// the real pg_net is absent. Like pg_net's background worker it takes queued requests in batches,
// performs them concurrently (scripts/local-stack/pg-net-http.ts), records each result in
// net._http_response, and never retries.
//
// One queued request is one attempt. The dequeue commits before anything is sent and the responses are
// recorded afterwards, row by row if the batch insert fails: a response that cannot be recorded is
// lost, never re-sent. (pg_net 0.20 holds dequeue, sends and inserts in one transaction, which only its
// worker process dying could roll back; here a failed transaction would be an endless re-send loop.)
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

/** Responses go in as one insert; if the table refuses it, row by row, so one bad row costs only itself. */
async function record(sql: Sql, responses: ResponseRow[]): Promise<void> {
  try {
    await sql`insert into net._http_response ${sql(responses, ...COLUMNS)}`;
  } catch {
    for (const response of responses) {
      try {
        await sql`insert into net._http_response ${sql(response, ...COLUMNS)}`;
      } catch (error) {
        log(`response to request ${response.id} not recorded (it is not re-sent): ${describe(error)}`);
      }
    }
  }
}

async function runBatch(sql: Sql): Promise<number> {
  await sql`delete from net._http_response where created < now() - ${TTL}::interval`;
  // Its own statement, so the dequeue is committed before any request is sent.
  const requests = await sql<QueuedRequest[]>`
    delete from net.http_request_queue
     where id in (select id from net.http_request_queue order by id limit ${BATCH_SIZE} for update skip locked)
    returning id, method, url, headers, body, timeout_milliseconds`;
  if (requests.length === 0) return 0;
  await record(sql, await Promise.all(requests.map(perform)));
  return requests.length;
}

let sql: Sql | null = null;
let draining = false;
/** pg_net's should_wake: set by a wake, consumed when a drain starts. */
let woken = false;
let endPause: (() => void) | null = null;

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
    while (woken) {
      woken = false;
      let sent: number;
      do {
        sent = await runBatch(client);
        await pause();
      } while (sent > 0);
    }
  } catch (error) {
    void reconnect(`lost the database (${describe(error)})`);
  } finally {
    draining = false;
  }
}

let reconnecting = false;

/** Drops the client (and its LISTEN) and connects afresh, retrying until Postgres accepts. */
async function reconnect(reason: string): Promise<void> {
  if (reconnecting) return;
  reconnecting = true;
  log(`${reason}; connecting`);
  const old = sql;
  sql = null;
  // A client whose server went away can fail in its own internals; it is discarded either way.
  old?.end({ timeout: 0 }).catch(() => {});
  for (;;) {
    const client = postgres(DB_URL, {
      prepare: false,
      max: 2,
      connection: { application_name: "pg_net_standin_worker" },
      onnotice: () => {},
    });
    try {
      await client.listen(CHANNEL, wake);
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
