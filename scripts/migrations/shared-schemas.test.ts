// The project shares `public` (and the roles) with the platform's own tables and functions: no migration may
// change privileges on objects it did not create. A bulk grant or revoke over a shared schema, or a default
// privilege there, would reach the platform's objects, so none may appear (DESIGN.md §3, invariant 12).
import { assert, assertEquals } from "../../shared/testing/assert.ts";

const dir = new URL("../../supabase/migrations/", import.meta.url);
const SHARED = ["public", "extensions", "auth", "storage", "net", "vault", "cron"];
const bulk = new RegExp(
  String
    .raw`\bon\s+all\s+(?:tables|sequences|functions|routines|procedures)\s+in\s+schema\s+(.+?)\s+(?:from|to)\b` +
    String.raw`|\balter\s+default\s+privileges\b[^;]*?\bin\s+schema\s+(.+?)\s+(?:grant|revoke)\b`,
  "gis",
);

/** The shared schemas a migration's bulk privilege statements name. */
function sharedSchemasTouched(sql: string): string[] {
  const code = sql.replace(/--[^\n]*/g, "");
  const found: string[] = [];
  for (const m of code.matchAll(bulk)) {
    const schemas = (m[1] ?? m[2]).split(/[\s,]+/).filter(Boolean).map((s) => s.toLowerCase());
    found.push(...schemas.filter((s) => SHARED.includes(s)));
  }
  return found;
}

Deno.test("the pattern sees bulk privileges on a shared schema, and only there", () => {
  assertEquals(sharedSchemasTouched("revoke all on all functions in schema public from anon;"), ["public"]);
  assertEquals(sharedSchemasTouched("grant select on ALL TABLES in schema ops, public to service_role;"), [
    "public",
  ]);
  assertEquals(
    sharedSchemasTouched("alter default privileges in schema public revoke all on tables from anon;"),
    [
      "public",
    ],
  );
  assertEquals(sharedSchemasTouched("revoke all on all routines in schema private from public, anon;"), []);
  assertEquals(sharedSchemasTouched("-- grant all on all tables in schema public to anon\nselect 1;"), []);
});

Deno.test("no migration changes privileges across a schema it shares with the platform", async () => {
  let checked = 0;
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.endsWith(".sql")) continue;
    checked++;
    const touched = sharedSchemasTouched(await Deno.readTextFile(new URL(entry.name, dir)));
    assertEquals(touched, [], `${entry.name} changes privileges in bulk on ${touched.join(", ")}`);
  }
  assert(checked >= 40, `${checked} migrations read`);
});
