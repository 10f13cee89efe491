import { assertEquals } from "../../shared/testing/assert.ts";
import { appendOnlyProblems, rewrittenReleases } from "./check.ts";
import { files, released, releasedFiles, sha } from "./fixtures.ts";

Deno.test("unchanged released files and newer migrations pass", () => {
  assertEquals(appendOnlyProblems(released, files(releasedFiles)), []);
  assertEquals(
    appendOnlyProblems(released, files({ ...releasedFiles, "20260103000000_new.sql": sha("c") })),
    [],
  );
});

Deno.test("nothing released: any timestamped files pass", () => {
  assertEquals(appendOnlyProblems({ releases: [] }, files({ "20260101000000_x.sql": sha("a") })), []);
});

Deno.test("a released file that changed is named with both checksums", () => {
  assertEquals(
    appendOnlyProblems(released, files({ ...releasedFiles, "20260102000000_more.sql": sha("f") })),
    [`20260102000000_more.sql (release 1.0.0) was changed: sha256 ${sha("f")}, released as ${sha("b")}`],
  );
});

Deno.test("a released file that is gone is reported removed, or renamed when its bytes moved", () => {
  assertEquals(
    appendOnlyProblems(released, files({ "20260101000000_base.sql": sha("a") })),
    ["20260102000000_more.sql (release 1.0.0) was removed"],
  );
  assertEquals(
    appendOnlyProblems(
      released,
      files({ "20260101000000_base.sql": sha("a"), "20260102000000_renamed.sql": sha("b") }),
    ),
    [
      "20260102000000_more.sql (release 1.0.0) was renamed to 20260102000000_renamed.sql",
      "20260102000000_renamed.sql is not released but sorts before the last released migration 20260102000000_more.sql",
    ],
  );
});

Deno.test("an unreleased file cannot slip in before or beside the last released one", () => {
  assertEquals(
    appendOnlyProblems(released, files({ ...releasedFiles, "20260101120000_sneaky.sql": sha("c") })),
    ["20260101120000_sneaky.sql is not released but sorts before the last released migration 20260102000000_more.sql"],
  );
  assertEquals(
    appendOnlyProblems(released, files({ ...releasedFiles, "20260102000000_same_time.sql": sha("c") })),
    [
      "20260102000000_same_time.sql is not released but sorts before the last released migration 20260102000000_more.sql",
    ],
  );
});

Deno.test("a file the CLI cannot order is reported", () => {
  assertEquals(
    appendOnlyProblems(released, files({ ...releasedFiles, "fix.sql": sha("c") })),
    ["fix.sql does not start with a 14-digit timestamp"],
  );
});

Deno.test("the last release's files count, not only the first release's", () => {
  const two = {
    releases: [...released.releases, {
      name: "1.1.0",
      migrations: [{ file: "20260201000000_later.sql", sha256: sha("c") }],
    }],
  };
  const all = { ...releasedFiles, "20260201000000_later.sql": sha("c") };
  assertEquals(appendOnlyProblems(two, files({ ...all, "20260301000000_next.sql": sha("d") })), []);
  assertEquals(
    appendOnlyProblems(two, files({ ...all, "20260115000000_between.sql": sha("d") })),
    ["20260115000000_between.sql is not released but sorts before the last released migration 20260201000000_later.sql"],
  );
});

Deno.test("a committed release is never edited, re-cut, removed or moved, even with its files changed to match", () => {
  const next = {
    name: "1.1.0",
    migrations: [{ file: "20260103000000_next.sql", sha256: sha("c") }],
  };
  const committed = [{ commit: "c".repeat(40), manifest: released }];
  assertEquals(
    rewrittenReleases({ releases: [...released.releases, next] }, committed),
    [],
    "a release added",
  );
  // The file and its released checksum changed together: the files agree with the manifest, git does not.
  const edited = {
    releases: [{
      name: "1.0.0",
      migrations: [released.releases[0].migrations[0], { file: "20260102000000_more.sql", sha256: sha("f") }],
    }],
  };
  assertEquals(
    appendOnlyProblems(edited, files({ ...releasedFiles, "20260102000000_more.sql": sha("f") })),
    [],
  );
  assertEquals(rewrittenReleases(edited, committed), [
    `release 1.0.0 is not as commit ${"c".repeat(12)} recorded it (its files or checksums changed)`,
  ]);
  assertEquals(rewrittenReleases({ releases: [] }, committed), [
    `release 1.0.0 is not as commit ${"c".repeat(12)} recorded it (gone)`,
  ]);
  assertEquals(rewrittenReleases({ releases: [next, ...released.releases] }, committed), [
    `release 1.0.0 is not as commit ${"c".repeat(12)} recorded it (1.1.0 is in its place)`,
  ]);
});
