import { assert, assertEquals } from "./assert.ts";
import { anchors, dbNames, relativeLinks, scriptMentions, slug } from "./markdown.ts";

Deno.test("slug follows GitHub: lowercase, punctuation dropped except - and _, spaces to dashes", () => {
  assertEquals(
    slug("Guarantees, and where Postgres enforces them"),
    "guarantees-and-where-postgres-enforces-them",
  );
  assertEquals(slug("Rolling out V3"), "rolling-out-v3");
  assertEquals(slug("`ops.health()` and max_parallel — A/B"), "opshealth-and-max_parallel--ab");
  assertEquals(slug("See [the runbook](operating.md#x)"), "see-the-runbook");
  assertEquals(slug("Café au lait"), "café-au-lait");
});

Deno.test("anchors come from headings outside code, repeated ones numbered", () => {
  const page = "# Title\n\n## Setup\n\n```sh\n# not a heading\n```\n\n## Setup\n### Setup ###\n";
  assertEquals([...anchors(page)], ["title", "setup", "setup-1", "setup-2"]);
});

Deno.test("relative links: inline and reference, not URLs, not in code", () => {
  const page = [
    "See [ops](docs/operating.md#the-runbook) and [here](#local) and [web](https://example.com/x.md).",
    "`[not](a-link.md)` and",
    "```",
    "[nor](this.md)",
    "```",
    "[ref]: ../scripts/bench/results/pipeline.md",
  ].join("\n");
  assertEquals(relativeLinks(page), [
    { line: 1, path: "docs/operating.md", anchor: "the-runbook" },
    { line: 1, path: "", anchor: "local" },
    { line: 6, path: "../scripts/bench/results/pipeline.md", anchor: null },
  ]);
});

Deno.test("script mentions: prose and code, flags only right after the command", () => {
  const page = [
    "Run `scripts/verify-rollout --since 24h --phase <phase>` (or `--db-url`), then scripts/stack stop.",
    "```sh",
    "./scripts/bench-pipeline --rate 20 # not --this",
    "```",
    "Results in [x](../scripts/bench/results/pipeline.md).",
  ].join("\n");
  assertEquals(scriptMentions(page), [
    { line: 3, path: "bench-pipeline", flags: ["rate"] },
    { line: 1, path: "verify-rollout", flags: ["since", "phase"] },
    { line: 1, path: "stack", flags: [] },
  ]);
});

Deno.test("database names: only known schemas, calls told apart from relations", () => {
  const page = "`select ops.health();` reads `private.pipeline_settings` (the `ops.*` calls), " +
    "`coordinator.start` events, results/pipeline.md, e.g. `vault.create_secret(…)`.";
  const names = dbNames(page, new Set(["ops", "private", "public", "vault"]));
  assertEquals(names.map((n) => `${n.schema}.${n.name}${n.call ? "()" : ""}`), [
    "ops.health()",
    "private.pipeline_settings",
    "vault.create_secret()",
  ]);
  assert(names.every((n) => n.line === 1));
});
