// The Data API stand-in answers as Supabase's gateway and PostgREST do where the tests rely on it: keys and
// tokens, the exposed schemas, singular answers and unfiltered writes. Needs `scripts/stack start`.
import { createClient } from "@supabase/supabase-js";
import type { Database } from "../../../shared/database.types.ts";
import { assertEquals } from "../../../shared/testing/assert.ts";
import { mintJwt } from "../../../shared/testing/postgrest/jwt.ts";
import { connect, localDataApi } from "../../../shared/testing/stack.ts";

const sql = connect(1);
const { standIn, platform } = await localDataApi();

const get = (path: string, headers: Record<string, string>) =>
  fetch(`${standIn.url}/rest/v1/${path}`, { headers }).then(async (r) => ({
    status: r.status,
    body: await r.json(),
  }));

Deno.test("without a project key the gateway refuses; a token not signed with the project's secret is 401", async () => {
  assertEquals((await get("restaurants?select=id", {})).status, 401);
  const forged = await mintJwt("not the project's secret", { role: "service_role" });
  const answer = await get("restaurants?select=id", {
    apikey: standIn.keys.anon,
    authorization: `Bearer ${forged}`,
  });
  assertEquals([answer.status, answer.body.code], [401, "PGRST301"]);
});

Deno.test("an expired token is 401 PGRST303; a role authenticator cannot assume is refused", async () => {
  const expired = await standIn.sign({ role: "authenticated", exp: Math.floor(Date.now() / 1000) - 60 });
  const late = await get("restaurants?select=id", {
    apikey: standIn.keys.anon,
    authorization: `Bearer ${expired}`,
  });
  assertEquals([late.status, late.body.code], [401, "PGRST303"]);
  const superuser = await standIn.sign({ role: "postgres" });
  const escalated = await get("restaurants?select=id", {
    apikey: standIn.keys.anon,
    authorization: `Bearer ${superuser}`,
  });
  assertEquals(
    [escalated.status, escalated.body.code],
    [403, "42501"],
    "authenticator is no member of postgres",
  );
});

Deno.test("only public and ops are exposed; the profile headers pick one", async () => {
  const untyped = createClient(standIn.url, standIn.keys.serviceRole, { auth: { persistSession: false } });
  const vault = await untyped.schema("vault").from("secrets").select("id");
  assertEquals([vault.status, vault.error?.code], [406, "PGRST106"]);
  const ops = await platform.schema("ops").rpc("rollout_status");
  assertEquals([ops.status, typeof ops.data], [200, "object"]);
});

Deno.test("a singular answer needs exactly one row, and a write that returns more is rolled back", async () => {
  const name = `Single ${crypto.randomUUID()}`;
  const rows = [{ name, timezone: "UTC" }, { name, timezone: "UTC" }];
  const answer = await platform.from("restaurants").insert(rows).select("id").single();
  assertEquals([answer.status, answer.error?.code], [406, "PGRST116"]);
  const [{ n }] = await sql`select count(*)::int as n from public.restaurants where name = ${name}`;
  assertEquals(n, 0, "nothing was inserted");
});

Deno.test("an update or delete without a filter is refused, as Supabase's pg-safeupdate refuses it", async () => {
  const update = await platform.from("restaurants").update({ name: "everyone" });
  assertEquals([update.status, update.error?.code], [400, "21000"]);
  const remove = await platform.from("zones").delete();
  assertEquals([remove.status, remove.error?.code], [400, "21000"]);
});

Deno.test("of a function's overloads, the one whose parameters the body names is called; two that fit are 300 PGRST203", async () => {
  await sql.unsafe(`
    create function public.standin_overload_probe(p_when timestamptz) returns text language sql as $$ select 'instant' $$;
    create function public.standin_overload_probe(p_text text, p_note text default null) returns text
      language sql as $$ select 'text' $$;
    create function public.standin_overload_probe(p_text text) returns text language sql as $$ select 'text alone' $$;
    grant execute on function public.standin_overload_probe(timestamptz), public.standin_overload_probe(text, text),
      public.standin_overload_probe(text) to service_role`);
  try {
    const rpc = (args: Record<string, unknown>) =>
      platform.rpc("standin_overload_probe" as never, args as never);
    const instant = await rpc({ p_when: "2030-01-07T19:00:00Z" });
    assertEquals([instant.status, instant.data], [200, "instant"], "chosen by the name given");
    const noted = await rpc({ p_text: "x", p_note: "y" });
    assertEquals([noted.status, noted.data], [200, "text"], "the only one with both names");
    const both = await rpc({ p_text: "x" });
    assertEquals([both.status, both.error?.code], [300, "PGRST203"], "two fit: neither is chosen");
    const neither = await rpc({ p_note: "y" });
    assertEquals(
      [neither.status, neither.error?.code],
      [404, "PGRST202"],
      "none has every parameter it needs",
    );
  } finally {
    await sql.unsafe(`
      drop function public.standin_overload_probe(timestamptz);
      drop function public.standin_overload_probe(text, text);
      drop function public.standin_overload_probe(text)`);
  }
});

Deno.test("an unknown function or argument is 404 PGRST202; a constraint violation keeps PostgREST's status", async () => {
  const unknown = await platform.rpc(
    "cancel_booking",
    { p_booking_id: crypto.randomUUID(), p_nonsense: 1 } as never,
  );
  assertEquals([unknown.status, unknown.error?.code], [404, "PGRST202"]);
  const badZone = await platform.from("restaurants").insert({ name: "x", timezone: "Nowhere/Atlantis" });
  assertEquals([badZone.status, badZone.error?.code], [400, "23514"]);
  const orphan = await platform.from("zones").insert({ restaurant_id: crypto.randomUUID(), name: "Main" });
  assertEquals([orphan.status, orphan.error?.code], [409, "23503"]);
  const anon = createClient<Database>(standIn.url, standIn.keys.anon, { auth: { persistSession: false } });
  const refused = await anon.from("restaurants").select("id");
  assertEquals([refused.status, refused.error?.code], [401, "42501"]);
  await sql.end();
});
