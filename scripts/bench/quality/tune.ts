// Strategy tuning without the expensive policies: the FCFS-repack covers of each day are solved once and
// cached (they do not depend on the strategy), then each strategy is replayed alone, without moves, and its
// covers compared with them. For choosing a strategy's weights on tuning seeds in seconds; the reported
// numbers come from scripts/bench-quality on other seeds. Usage:
//   deno run -A scripts/bench/quality/tune.ts [--strategies scarcity_fit,scarcity_fit/covers,optimal_fit,lookahead:4]
//     [--seeds 1,2,3] [--layouts bistro-40,fine-60,mixed-80] [--mixes casual,groups,walk_in]
//     [--loads 0.6,0.9,1.2,1.5] [--cache DIR]
// "scarcity_fit/covers" is scarcity_fit with the flexibility weighed by covers as well as requests (the
// weighting before the tuning of seeds 1-6). "lookahead:K" tries scarcity_fit's best K choices for each request
// against the rest of the day's own requests, "lookahead:K:S" against S other days of the generator
// (lookahead.ts: what better choices, or a perfect forecast, could win without moves; slow).
import { parseArgs } from "node:util";
import { percentile } from "../../../shared/testing/random.ts";
import { DEFAULT_WEIGHTS, scarcityFit } from "../../../shared/engine/strategies/scarcity-fit.ts";
import { getStrategy } from "../../../shared/engine/strategies/registry.ts";
import type { Strategy } from "../../../shared/engine/strategies/strategy.ts";
import { generateDay, MIXES, type MixId } from "./demand.ts";
import { layoutById } from "./layouts.ts";
import { measure } from "./metrics.ts";
import { PackingSolver } from "./packing-milp.ts";
import { type LookaheadOptions, replayLookahead } from "./lookahead.ts";
import { replayStrategy } from "./policies.ts";
import { fcfsRepack } from "./yardsticks.ts";

const { values: args } = parseArgs({
  options: {
    strategies: { type: "string", default: "scarcity_fit,scarcity_fit/covers" },
    seeds: { type: "string", default: "1,2,3" },
    layouts: { type: "string", default: "bistro-40,fine-60,mixed-80" },
    mixes: { type: "string", default: "casual,groups,walk_in" },
    loads: { type: "string", default: "0.6,0.9,1.2,1.5" },
    cache: { type: "string", default: `${Deno.env.get("TMPDIR") ?? "/tmp"}/bench-quality-repack` },
  },
});
const split = (s: string) => s.split(",").map((x) => x.trim()).filter(Boolean);
const names = split(args.strategies!);
const seeds = split(args.seeds!).map(Number);
const layouts = split(args.layouts!);
const mixes = split(args.mixes!) as MixId[];
const loads = split(args.loads!).map(Number);
for (const m of mixes) if (!MIXES[m]) throw new Error(`unknown mix "${m}"`);

/** "lookahead:K[:S]" as options, or undefined for a strategy's name. */
function lookaheadOptions(name: string): LookaheadOptions | undefined {
  const match = /^lookahead:(\d+)(?::(\d+))?$/.exec(name);
  if (name.startsWith("lookahead") && (!match || Number(match[1]) < 1)) {
    throw new Error(`"${name}": lookahead:K or lookahead:K:S, K at least 1`);
  }
  return match ? { top: Number(match[1]), samples: Number(match[2] ?? 0) } : undefined;
}
const strategies = new Map<string, Strategy | LookaheadOptions>(names.map((n) => [
  n,
  lookaheadOptions(n) ??
    (n === "scarcity_fit/covers"
      ? scarcityFit({ ...DEFAULT_WEIGHTS, weighBy: "covers" }, n)
      : getStrategy(n)),
]));

await Deno.mkdir(args.cache!, { recursive: true });
let solver: PackingSolver | undefined;
/** FCFS-repack's covers for a day, as the benchmark solves them (10 s per feasibility solve). */
async function repackCovers(layout: string, mix: MixId, load: number, seed: number): Promise<number> {
  const file = `${args.cache}/repack-${layout}-${mix}-${load}-${seed}.json`;
  try {
    return JSON.parse(await Deno.readTextFile(file)).covers;
  } catch {
    // not solved yet
  }
  solver ??= await PackingSolver.load();
  const day = generateDay(layoutById(layout), mix, load, seed);
  const run = await fcfsRepack(solver, day, { timeLimitSeconds: 10 });
  const covers = measure(day, run.tables).covers;
  await Deno.writeTextFile(file, JSON.stringify({ covers, undetermined: run.undetermined }));
  return covers;
}

interface Row {
  layout: string;
  mix: MixId;
  load: number;
  ratio: Record<string, number>;
}
const rows: Row[] = [];
const times: Record<string, number[]> = {};
let violations = 0;
for (const seed of seeds) {
  for (const layout of layouts) {
    for (const mix of mixes) {
      for (const load of loads) {
        const repack = await repackCovers(layout, mix, load, seed);
        const day = generateDay(layoutById(layout), mix, load, seed);
        const ratio: Record<string, number> = {};
        for (const [name, strategy] of strategies) {
          const run = "top" in strategy
            ? replayLookahead(day, getStrategy("scarcity_fit"), strategy)
            : replayStrategy(day, strategy);
          const m = measure(day, run.tables);
          violations += m.violations.length;
          ratio[name] = m.covers / repack;
          (times[name] ??= []).push(...run.decisionMs);
        }
        rows.push({ layout, mix, load, ratio });
      }
    }
  }
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
const groupHeavy = (m: MixId) => m === "groups" || m === "celebrations";
const f = (x: number) => (Number.isNaN(x) ? "–" : x.toFixed(3));
const table = (title: string, columns: [string, (r: Row) => boolean][]) => {
  console.log(`\n${title}\n\n| strategy | ${columns.map(([c]) => c).join(" | ")} |`);
  console.log(`| --- |${columns.map(() => " ---: |").join("")}`);
  for (const name of strategies.keys()) {
    const cells = columns.map(([, keep]) => f(mean(rows.filter(keep).map((r) => r.ratio[name]))));
    console.log(`| ${name} | ${cells.join(" | ")} |`);
  }
};
console.log(
  `covers / FCFS-repack, mean over days: seeds ${seeds.join(",")}; ${layouts.join(", ")}; ` +
    `${mixes.join(", ")}; ${rows.length} days`,
);
const all: [string, (r: Row) => boolean][] = [["all", () => true]];
table("By load", [
  ...loads.map((l): [string, (r: Row) => boolean] => [`ρ = ${l}`, (r) => r.load === l]),
  ...all,
]);
table(
  "Group-heavy days by load",
  loads.map((l): [string, (r: Row) => boolean] => [`ρ = ${l}`, (r) => r.load === l && groupHeavy(r.mix)]),
);
table("By mix", mixes.map((m): [string, (r: Row) => boolean] => [m, (r) => r.mix === m]));
table("By layout", layouts.map((l): [string, (r: Row) => boolean] => [l, (r) => r.layout === l]));
console.log(
  `\ndecision p95 (ms): ${
    [...strategies.keys()].map((n) => `${n} ${percentile(times[n], 95).toFixed(2)}`).join(", ")
  }`,
);
console.log(`rule violations: ${violations}`);
