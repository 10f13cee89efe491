// Delivery worker for the local pg_net stand-in (scripts/local-stack/pg-net-standin.sql). Like pg_net's
// background worker it takes queued requests in batches, performs them concurrently, and records each
// result in net._http_response; it never retries. Unlike pg_net it does not sleep a second between
// batches: it is woken by the NOTIFY that net.http_post sends, which Postgres delivers at COMMIT.
// Only used when the real pg_net is absent.
import postgres from "postgres";

const DB_URL = Deno.env.get("SUPABASE_DB_URL") ?? "postgresql://postgres:postgres@127.0.0.1:54322/postgres";
const BATCH_SIZE = Number(Deno.env.get("PG_NET_BATCH_SIZE") ?? 200);
const TTL = "6 hours";

const sql = postgres(DB_URL, {
  prepare: false,
  max: 2,
  connection: { application_name: "pg_net_standin_worker" },
  onnotice: () => {},
});

interface QueuedRequest {
  id: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body: Uint8Array | null;
  timeout_milliseconds: number;
}

interface ResponseRow {
  id: string;
  status_code: number | null;
  content_type: string | null;
  headers: Record<string, string> | null;
  content: string | null;
  timed_out: boolean;
  error_msg: string | null;
}

async function perform(request: QueuedRequest): Promise<ResponseRow> {
  const started = performance.now();
  try {
    const response = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body ? new Uint8Array(request.body) : undefined,
      signal: AbortSignal.timeout(request.timeout_milliseconds),
    });
    const content = await response.text();
    return {
      id: request.id,
      status_code: response.status,
      content_type: response.headers.get("content-type"),
      headers: Object.fromEntries(response.headers),
      content,
      timed_out: false,
      error_msg: null,
    };
  } catch (error) {
    const timedOut = error instanceof DOMException && error.name === "TimeoutError";
    return {
      id: request.id,
      status_code: null,
      content_type: null,
      headers: null,
      content: null,
      timed_out: timedOut,
      error_msg: timedOut
        ? `Timeout of ${request.timeout_milliseconds} ms reached. Total time: ${
          (performance.now() - started).toFixed(0)
        } ms`
        : `Couldn't connect to server: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}

/** One batch in one transaction, as pg_net does: dequeue, perform concurrently, record responses. */
async function runBatch(): Promise<number> {
  return await sql.begin(async (tx) => {
    await tx`delete from net._http_response where created < now() - ${TTL}::interval`;
    const requests = await tx<QueuedRequest[]>`
      delete from net.http_request_queue
       where id in (select id from net.http_request_queue order by id limit ${BATCH_SIZE} for update skip locked)
      returning id, method, url, headers, body, timeout_milliseconds`;
    if (requests.length === 0) return 0;
    const responses = await Promise.all(requests.map(perform));
    await tx`insert into net._http_response ${
      tx(responses, "id", "status_code", "content_type", "headers", "content", "timed_out", "error_msg")
    }`;
    return requests.length;
  });
}

let running = false;
let wokenWhileRunning = false;

async function drain(): Promise<void> {
  if (running) {
    wokenWhileRunning = true;
    return;
  }
  running = true;
  try {
    do {
      wokenWhileRunning = false;
      while (await runBatch() > 0) { /* keep going while the queue has work */ }
    } while (wokenWhileRunning);
  } catch (error) {
    console.error(`pg_net stand-in: batch failed: ${error instanceof Error ? error.message : error}`);
  } finally {
    running = false;
  }
}

await sql.listen("pg_net_standin_wake", () => void drain());
// Requests queued while the worker was down are delivered once it is up, as with pg_net.
setInterval(() => void drain(), 1000);
await drain();
console.log(`pg_net stand-in worker delivering from ${new URL(DB_URL).host}`);
