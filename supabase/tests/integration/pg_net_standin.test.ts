// The local pg_net stand-in's worker behaves as pg_net's: one queued request is one attempt, whatever
// happens to its response, and responses are recorded as the server sent them. Needs `scripts/stack start`
// with the stand-in (the real pg_net has no such worker to test).
import { assert, assertEquals } from "../../../shared/testing/assert.ts";
import { startHttpTarget } from "../../../shared/testing/http-target.ts";
import { connect, waitFor } from "../../../shared/testing/stack.ts";

type Sql = ReturnType<typeof connect>;

async function post(sql: Sql, url: string, headers: Record<string, string> = {}): Promise<string> {
  const [{ id }] = await sql<{ id: string }[]>`
    select net.http_post(${url}, '{}'::jsonb, headers => ${sql.json(headers)}) as id`;
  return id;
}

async function response(sql: Sql, id: string) {
  return await waitFor(`the response to request ${id}`, async () => {
    const [row] = await sql<
      {
        status_code: number | null;
        content_type: string | null;
        headers: Record<string, string> | null;
        error_msg: string | null;
      }[]
    >`select status_code, content_type, headers, error_msg from net._http_response where id = ${id}`;
    return row;
  });
}

Deno.test("the worker records response header names in the case the server sent them", async () => {
  const sql = connect(2);
  const target = await startHttpTarget();
  try {
    const id = await post(sql, `${target.url}/case`, { "content-type": "application/json" });
    const row = await response(sql, id);
    assertEquals(row.status_code, 200);
    assertEquals(row.content_type, "application/json");
    assert(
      row.headers !== null && "Content-Type" in row.headers && "X-Target-Mixed-Case" in row.headers,
      `header names as sent, got ${JSON.stringify(row.headers)}`,
    );
    const contentTypes = target.headerLines("/case")[0].filter((l) => /^content-type:/i.test(l));
    assertEquals(contentTypes, ["content-type: application/json"], "one Content-Type, as given");
  } finally {
    await target.close();
    await sql.end();
  }
});

Deno.test("a request whose response cannot be recorded is sent once and never again", async () => {
  const sql = connect(2);
  const target = await startHttpTarget();
  // The response table refuses this one row (as a full disk or a broken value would).
  await sql.unsafe(`
    create function net.test_refuse_418() returns trigger language plpgsql as $$
    begin
      if new.status_code = 418 then raise exception 'refused by the test'; end if;
      return new;
    end $$;
    create trigger test_refuse_418 before insert on net._http_response
      for each row execute function net.test_refuse_418()`);
  try {
    const lost = await post(sql, `${target.url}/status/418/lost`);
    await waitFor(
      "the request to arrive",
      () => Promise.resolve(target.hits("/status/418/lost") > 0 || undefined),
    );
    // A request queued afterwards is delivered and recorded: the worker has moved past the lost one.
    const after = await post(sql, `${target.url}/after-lost`);
    assertEquals((await response(sql, after)).status_code, 200);
    assertEquals(target.hits("/status/418/lost"), 1, "sent exactly once");
    const [{ queued, recorded }] = await sql`
      select (select count(*)::int from net.http_request_queue where id = ${lost}) as queued,
             (select count(*)::int from net._http_response where id = ${lost}) as recorded`;
    assertEquals([queued, recorded], [0, 0], "not queued again; its response is lost, not retried");
  } finally {
    await sql.unsafe(
      `drop trigger test_refuse_418 on net._http_response; drop function net.test_refuse_418()`,
    );
    await target.close();
    await sql.end();
  }
});

Deno.test("a target that refuses gets one attempt, and the refusal is recorded", async () => {
  const sql = connect(2);
  const target = await startHttpTarget();
  const closed = await startHttpTarget();
  const closedUrl = closed.url;
  await closed.close(); // nothing listens on this port any more
  try {
    const busy = await post(sql, `${target.url}/status/503/busy`);
    const refused = await post(sql, `${closedUrl}/refused`);
    assertEquals((await response(sql, busy)).status_code, 503);
    const refusal = await response(sql, refused);
    assertEquals([refusal.status_code, refusal.error_msg], [null, "Couldn't connect to server"]);
    const after = await post(sql, `${target.url}/after-refusals`);
    await response(sql, after);
    assertEquals(target.hits("/status/503/busy"), 1, "the 503 was not retried");
    const [{ attempts }] = await sql`
      select count(*)::int as attempts from net._http_response where id in (${busy}, ${refused})`;
    assertEquals(attempts, 2, "one recorded attempt each");
  } finally {
    await target.close();
    await sql.end();
  }
});

Deno.test("net.worker_restart() restarts the worker, as pg_net's does, and delivery goes on", async () => {
  const sql = connect(1);
  const target = await startHttpTarget();
  try {
    const workers = () =>
      sql<
        { pid: number }[]
      >`select pid from pg_stat_activity where application_name = 'pg_net_standin_worker'`
        .then((rows) => rows.map((r) => r.pid));
    const before = await workers();
    const [{ restarted }] = await sql<{ restarted: boolean }[]>`select net.worker_restart() as restarted`;
    assertEquals(restarted, true);
    // Back on connections of its own, none of those it had, and a request queued now is delivered.
    await waitFor("the worker to come back", async () => {
      const now = await workers();
      return (now.length > 0 && now.every((pid) => !before.includes(pid))) || undefined;
    });
    const after = await post(sql, `${target.url}/after-restart`);
    assertEquals((await response(sql, after)).status_code, 200);
  } finally {
    await target.close();
    await sql.end();
  }
});
