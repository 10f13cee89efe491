// Every business SQLSTATE the migrations raise must be in the TypeScript list, whatever the files are called.
import { assert, assertEquals } from "../testing/assert.ts";
import { SQLSTATE } from "./sqlstate.ts";

const migrations = new URL("../../supabase/migrations/", import.meta.url);

async function raisedCodes(): Promise<Set<string>> {
  const codes = new Set<string>();
  for await (const entry of Deno.readDir(migrations)) {
    if (!entry.isFile || !entry.name.endsWith(".sql")) continue;
    const text = await Deno.readTextFile(new URL(entry.name, migrations));
    for (const match of text.matchAll(/errcode\s*=\s*'(AS\d{3})'/gi)) codes.add(match[1].toUpperCase());
  }
  return codes;
}

Deno.test("every SQLSTATE the migrations raise is in the TypeScript list", async () => {
  const raised = await raisedCodes();
  assert(raised.size > 0, "the migrations raise business errors, so the scan must find some");
  const known = new Set<string>(Object.values(SQLSTATE));
  assertEquals([...raised].filter((code) => !known.has(code)).sort(), [], "raised in SQL, unknown here");
});

Deno.test("each SQLSTATE has one name", () => {
  const codes = Object.values(SQLSTATE);
  assertEquals(new Set(codes).size, codes.length);
});
