import { assert, assertEquals } from "../../shared/testing/assert.ts";
import { lastRelease, ReleaseMismatch } from "./last-release.ts";
import { files, released, releasedFiles, sha } from "./fixtures.ts";

Deno.test("the last release lists every released file and what came since", () => {
  assertEquals(lastRelease({ releases: [] }, files(releasedFiles)), null);
  assertEquals(lastRelease(released, files({ ...releasedFiles, "20260201000000_later.sql": sha("c") })), {
    name: "1.0.0",
    files: ["20260101000000_base.sql", "20260102000000_more.sql"],
    newSince: ["20260201000000_later.sql"],
  });
});

Deno.test("the last release is not built from a file that no longer matches it", () => {
  for (
    const folder of [{ ...releasedFiles, "20260101000000_base.sql": sha("e") }, {
      "20260102000000_more.sql": sha("b"),
    }]
  ) {
    let message = "";
    try {
      lastRelease(released, files(folder));
    } catch (e) {
      assert(e instanceof ReleaseMismatch, String(e));
      message = e.message;
    }
    assert(message.includes("20260101000000_base.sql (release 1.0.0)"), message);
  }
});
