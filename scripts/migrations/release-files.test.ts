import { assert, assertEquals } from "../../shared/testing/assert.ts";
import { releaseFiles, ReleaseMismatch } from "./release-files.ts";
import { files, released, releasedFiles, sha } from "./fixtures.ts";
import type { Manifest } from "./manifest.ts";

/** The error fn throws, which must be an instance of kind. */
function thrown<E extends Error>(fn: () => unknown, kind: new (...args: never[]) => E): E {
  try {
    fn();
  } catch (e) {
    assert(e instanceof kind, `expected a ${kind.name}, got ${e}`);
    return e;
  }
  throw new Error(`expected a ${kind.name}, but nothing was thrown`);
}

const twoReleases: Manifest = {
  releases: [...released.releases, {
    name: "1.1.0",
    migrations: [{ file: "20260201000000_later.sql", sha256: sha("c") }],
  }],
};
const twoReleasesFiles = { ...releasedFiles, "20260201000000_later.sql": sha("c") };

Deno.test("a release is built from its own files and every earlier release's, and what came since is counted", () => {
  const folder = files({ ...twoReleasesFiles, "20260301000000_unreleased.sql": sha("d") });
  assertEquals(releaseFiles(twoReleases, folder, "1.0.0"), {
    name: "1.0.0",
    files: ["20260101000000_base.sql", "20260102000000_more.sql"],
    newSince: ["20260201000000_later.sql", "20260301000000_unreleased.sql"],
  });
  assertEquals(releaseFiles(twoReleases, folder, "1.1.0"), {
    name: "1.1.0",
    files: ["20260101000000_base.sql", "20260102000000_more.sql", "20260201000000_later.sql"],
    newSince: ["20260301000000_unreleased.sql"],
  });
});

Deno.test("a release that does not exist is refused, naming the ones that do", () => {
  const error = thrown(() => releaseFiles(twoReleases, files(twoReleasesFiles), "0.9.0"), RangeError);
  assert(error.message.includes('"0.9.0"') && error.message.includes("1.0.0, 1.1.0"), error.message);
  const none = thrown(() => releaseFiles({ releases: [] }, files({}), "1.0.0"), RangeError);
  assert(none.message.includes("none yet"), none.message);
});

Deno.test("no release is built from a file that no longer matches it, even a later release's", () => {
  for (
    const [folder, named] of [
      [
        { ...twoReleasesFiles, "20260101000000_base.sql": sha("e") },
        "20260101000000_base.sql (release 1.0.0)",
      ],
      [
        { ...twoReleasesFiles, "20260201000000_later.sql": sha("e") },
        "20260201000000_later.sql (release 1.1.0)",
      ],
      [
        { "20260102000000_more.sql": sha("b"), "20260201000000_later.sql": sha("c") },
        "20260101000000_base.sql",
      ],
    ] as const
  ) {
    const error = thrown(() => releaseFiles(twoReleases, files(folder), "1.0.0"), ReleaseMismatch);
    assert(error.message.includes(named), error.message);
  }
});
