import { assert, assertEquals } from "../../shared/testing/assert.ts";
import {
  formatManifest,
  migrationTimestamp,
  parseManifest,
  readManifest,
  scanMigrations,
} from "./manifest.ts";
import { released } from "./fixtures.ts";

Deno.test("a migration is ordered by the 14-digit timestamp that starts its name", () => {
  assertEquals(migrationTimestamp("20261125080000_extensions.sql"), "20261125080000");
  assertEquals(migrationTimestamp("2026112508000_short.sql"), null, "13 digits");
  assertEquals(migrationTimestamp("20261125080000-dash.sql"), null, "no underscore");
  assertEquals(migrationTimestamp("20261125080000_notes.txt"), null, "not SQL");
});

Deno.test("the manifest survives a round trip and rejects malformed entries", () => {
  assertEquals(parseManifest(formatManifest(released)), released);
  const bad = (doc: unknown) => {
    try {
      parseManifest(JSON.stringify(doc));
    } catch {
      return true;
    }
    return false;
  };
  assert(bad({ releases: [{ name: "1.0.0", migrations: [{ file: "x.sql", sha256: "ABC" }] }] }), "short sha");
  assert(bad({ releases: [{ name: "1.0.0", migrations: [] }] }), "an empty release");
  assert(
    bad({ releases: [{ name: "1 0", migrations: released.releases[0].migrations }] }),
    "a name with a space",
  );
  assert(bad({ releases: [], extra: true }), "unknown keys");
});

Deno.test("a missing manifest means nothing is released; the folder scan hashes .sql files only", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assertEquals(await readManifest(`${dir}/releases.json`), { releases: [] });
    await Deno.writeTextFile(`${dir}/20260101000000_b.sql`, "select 1;\n");
    await Deno.writeTextFile(`${dir}/20250101000000_a.sql`, "");
    await Deno.writeTextFile(`${dir}/README.md`, "not a migration");
    assertEquals([...await scanMigrations(dir)], [
      ["20250101000000_a.sql", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
      ["20260101000000_b.sql", "4a45092ccf992ea92250053a80b931b787924ba61648f420555511b84f10ab6c"],
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
