// The quality benchmark's small configuration, run as the README's test command runs it: every policy is
// safe, the yardsticks bound what they should, and the report files are written and agree with each other.
import { assert, assertEquals } from "../../../shared/testing/assert.ts";
import { CLAIRVOYANT, DEFAULT_EXACT, policyNames, REPACK } from "./cell.ts";
import { RESEATING_SEARCHES_PER_REVIEW } from "../../../shared/engine/reseating.ts";

Deno.test("quality benchmark smoke run: safe policies, consistent yardsticks, complete report", async () => {
  const out = await Deno.makeTempDir({ prefix: "quality-smoke-" });
  try {
    const main = new URL("./main.ts", import.meta.url).pathname;
    const config = new URL("../../../deno.json", import.meta.url).pathname;
    const run = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--no-prompt",
        "--config",
        config,
        main,
        "--smoke",
        "--jobs",
        "1",
        "--clairvoyant-seconds",
        "20",
        "--out",
        out,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(run.stderr);
    assertEquals(run.code, 0, `the benchmark exits cleanly:\n${stderr}`);
    assert(stderr.includes("2/2 cells"), "progress is shown while it runs");

    const { summary, cells } = JSON.parse(await Deno.readTextFile(`${out}/results.json`));
    assertEquals(cells.length, 2);
    for (const cell of cells) {
      assertEquals(Object.keys(cell.policies).sort(), policyNames().sort(), "every policy ran");
      for (const [name, p] of Object.entries<Record<string, number>>(cell.policies)) {
        assertEquals(p.violations, 0, `${name}: no double booking or broken rule`);
        assertEquals(p.stepViolations, 0, `${name}: nor at any step of the day`);
        assertEquals(p.lockedMoves, 0, `${name}: no seated booking moved`);
        assert(p.accepted <= p.requests && p.covers <= p.requestedCovers, `${name}: counts add up`);
      }
      // The smoke rooms are small enough for HiGHS to prove the optimum, which bounds every policy.
      assertEquals(cell.clairvoyant.status, "optimal");
      for (const [name, p] of Object.entries<Record<string, number>>(cell.policies)) {
        assert(
          p.covers <= cell.policies[CLAIRVOYANT].covers,
          `${name} does not beat the clairvoyant optimum`,
        );
      }
      assert(cell.fcfsRepack.undetermined === 0, "every FCFS-repack feasibility question was settled");
    }
    for (const load of ["0.9", "1.5"]) assertEquals(summary.ratioToRepack[REPACK][load], 1);
    assert(
      summary.targets.some((t: { target: string; met: boolean }) => t.target.startsWith("safety") && t.met),
    );
    // The weakest floor plan × mix over all its days: its covers over FCFS-repack's, summed over its days.
    const byPlanAndMix = new Map<string, [number, number]>();
    for (const c of cells) {
      const key = `${c.spec.layout} ${c.spec.mix}`;
      const [covers, repack] = byPlanAndMix.get(key) ?? [0, 0];
      byPlanAndMix.set(key, [covers + c.policies[DEFAULT_EXACT].covers, repack + c.policies[REPACK].covers]);
    }
    const weakest = Math.min(...[...byPlanAndMix.values()].map(([covers, repack]) => covers / repack));
    const overall = summary.targets.find((t: { target: string }) => t.target.includes("over every load"));
    assert(overall?.measured.startsWith(weakest.toFixed(3)), JSON.stringify(overall));

    const md = await Deno.readTextFile(`${out}/summary.md`);
    for (const heading of ["## Targets", "## Covers relative to FCFS-repack", "## Engine time per booking"]) {
      assert(md.includes(heading), `summary has ${heading}`);
    }
    for (
      const chart of ["ratio-to-repack.svg", "ratio-to-clairvoyant.svg", "occupancy-legacy_first_fit.svg"]
    ) {
      const svg = await Deno.readTextFile(`${out}/${chart}`);
      assert(svg.startsWith("<svg") && svg.trimEnd().endsWith("</svg>"), `${chart} is an SVG document`);
      assert(md.includes(`(${chart})`), `summary links ${chart}`);
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("review alternatives smoke run: the re-seating search adds offers to reviews without a free one, and the report says so", async () => {
  const out = await Deno.makeTempDir({ prefix: "alternatives-smoke-" });
  try {
    const main = new URL("./alternatives-main.ts", import.meta.url).pathname;
    const config = new URL("../../../deno.json", import.meta.url).pathname;
    const run = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-prompt", "--config", config, main, "--seeds", "11", "--layouts", "bistro-40"]
        .concat(["--mixes", "groups", "--loads", "1.2", "--reseating-ms", "200", "--out", out]),
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(run.stderr);
    assertEquals(run.code, 0, `the benchmark exits cleanly:\n${stderr}`);
    assert(stderr.includes("more with a re-seating one"), "progress is shown while it runs");
    const report = JSON.parse(await Deno.readTextFile(`${out}/alternatives.json`));
    const [load] = report.loads;
    const r = load.reseating;
    assertEquals(
      r.searched,
      load.reviews - load.with_alternative,
      "every review without a free one is searched",
    );
    assert(r.offered > 0 && r.offered <= r.searched, JSON.stringify(r));
    assert(
      r.searches >= r.searched && r.searches <= RESEATING_SEARCHES_PER_REVIEW * r.searched,
      "one search per review at least, and no more than the database allows",
    );
    assertEquals(r.with_alternative_total, load.with_alternative + r.offered);
    const md = await Deno.readTextFile(`${out}/alternatives.md`);
    assert(md.includes("Re-seating alternatives"), "the report has the re-seating table");
    // The search's budget is wall time: a report names the machine's load and the code it measured.
    assertEquals(report.machine.load_average_at_start.length, 3);
    const probe = report.machine.speed_probe_ms;
    assert(probe.alone > 0 && probe.all_cpus > 0, `the machine's speed was probed: ${JSON.stringify(probe)}`);
    assert(
      md.includes(
        `commit ${report.commit} · ${report.machine.cpus} CPUs, load ${
          report.machine.load_average_at_start.join(" / ")
        } at start, speed probe ${probe.alone} ms alone, ${probe.all_cpus} ms on every CPU at once`,
      ),
      "the report's first line says when, on which commit, how busy and how fast the machine was",
    );
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
