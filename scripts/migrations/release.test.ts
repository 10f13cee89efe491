import { assert, assertEquals } from "../../shared/testing/assert.ts";
import { cutRelease, ReleaseRefused } from "./release.ts";
import { files, released, releasedFiles, sha } from "./fixtures.ts";
import type { Manifest, MigrationFiles } from "./manifest.ts";

function refusal(manifest: Manifest, name: string, folder: MigrationFiles, through?: string): string {
  try {
    cutRelease(manifest, name, folder, through);
  } catch (e) {
    assert(e instanceof ReleaseRefused, `expected a refusal, got ${e}`);
    return e.message;
  }
  throw new Error("expected the release to be refused");
}

Deno.test("the first release freezes every file, in timestamp order", () => {
  assertEquals(cutRelease({ releases: [] }, "1.0.0", files({ ...releasedFiles })), released);
  assertEquals(
    cutRelease(
      { releases: [] },
      "1.0.0",
      files({ "20260102000000_more.sql": sha("b"), "20260101000000_base.sql": sha("a") }),
    ),
    released,
  );
});

Deno.test("a later release freezes only the files since the last one", () => {
  const next = cutRelease(
    released,
    "1.1.0",
    files({ ...releasedFiles, "20260201000000_later.sql": sha("c") }),
  );
  assertEquals(next.releases.map((r) => r.name), ["1.0.0", "1.1.0"]);
  assertEquals(next.releases[1].migrations, [{ file: "20260201000000_later.sql", sha256: sha("c") }]);
  assertEquals(next.releases[0], released.releases[0], "the earlier release is untouched");
});

Deno.test("a release through a timestamp freezes the files up to it, and leaves the newer ones out", () => {
  const folder = files({
    ...releasedFiles,
    "20260201000000_landed.sql": sha("c"),
    "20260301000000_not_yet.sql": sha("d"),
  });
  const next = cutRelease(released, "1.1.0", folder, "20260201000000");
  assertEquals(next.releases[1].migrations, [{ file: "20260201000000_landed.sql", sha256: sha("c") }]);
  assertEquals(
    refusal(
      released,
      "1.1.0",
      files({ ...releasedFiles, "20260301000000_not_yet.sql": sha("d") }),
      "20260102000000",
    ),
    "no migration files since the last release up to 20260102000000",
  );
  // A timestamp no file has (a typo) bounds nothing: refused, not taken as "up to there".
  assertEquals(
    refusal(released, "1.1.0", folder, "20260250000000"),
    "no migration file has the timestamp 20260250000000",
  );
  assertEquals(
    refusal(released, "1.1.0", folder, "2026-02-01"),
    '"2026-02-01" is not a migration timestamp (14 digits, e.g. 20261231050000)',
  );
});

Deno.test("a release is refused without new files, under a taken name, or over a broken history", () => {
  assertEquals(refusal(released, "1.1.0", files(releasedFiles)), "no migration files since the last release");
  assertEquals(
    refusal(released, "1.0.0", files({ ...releasedFiles, "20260201000000_later.sql": sha("c") })),
    "release 1.0.0 already exists",
  );
  assert(
    refusal(
      released,
      "1.1.0",
      files({ ...releasedFiles, "20260101000000_base.sql": sha("e"), "20260201000000_x.sql": sha("c") }),
    )
      .includes("20260101000000_base.sql (release 1.0.0) was changed"),
  );
  assert(refusal(released, "", files(releasedFiles)).includes("is not a release name"));
  // An option given by mistake is no name: `release-migrations --dry-run` must not freeze every open file.
  const open = files({ ...releasedFiles, "20260201000000_later.sql": sha("c") });
  for (const option of ["--dry-run", "-n"]) {
    assert(refusal(released, option, open).includes("not starting with -"));
  }
});
