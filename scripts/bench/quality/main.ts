// Assignment quality benchmark: seeded restaurant days (layouts × party mixes × loads × seeds) replayed in
// booking order against the legacy planner, every V3 strategy and V3 with re-optimisation, and measured
// against two exact yardsticks solved with HiGHS (FCFS-repack and the clairvoyant optimum).
// Writes results.json, summary.md and SVG charts. Usage:
//   deno run -A scripts/bench/quality/main.ts [--smoke] [--seeds 11,12,13] [--layouts a,b] [--mixes a,b]
//     [--loads 0.6,0.9,1.2,1.5] [--jobs 2] [--repack-seconds 10] [--clairvoyant-seconds 30] [--max-moves 5]
//     [--exact-ms 1000] [--out DIR]
import { parseArgs } from "node:util";
import { DEFAULT_MAX_MOVES } from "../../../shared/engine/reoptimize.ts";
import { DEFAULT_EXACT_TIME_LIMIT_MS } from "../../../shared/engine/exact/fallback.ts";
import { DEFAULT_STRATEGY } from "../../../shared/engine/strategies/registry.ts";
import type { CellResult, CellSpec } from "./cell.ts";
import { lineChart, occupancyChart } from "./charts.ts";
import { generateDay, MIXES, type MixId } from "./demand.ts";
import { layoutById, LAYOUTS } from "./layouts.ts";
import { DEFAULT_REOPT, markdown, summarise } from "./report.ts";
import { describeRun, runContext } from "../run-context.ts";

const { values: args } = parseArgs({
  options: {
    smoke: { type: "boolean", default: false },
    seeds: { type: "string" },
    layouts: { type: "string" },
    mixes: { type: "string" },
    loads: { type: "string" },
    jobs: { type: "string", default: String(navigator.hardwareConcurrency ?? 1) },
    "repack-seconds": { type: "string", default: "10" },
    "clairvoyant-seconds": { type: "string", default: "30" },
    "max-moves": { type: "string", default: String(DEFAULT_MAX_MOVES) },
    "exact-ms": { type: "string", default: String(DEFAULT_EXACT_TIME_LIMIT_MS) },
    // A smoke run's default is a place of its own, so it never replaces the committed full run's report.
    out: { type: "string" },
  },
});

function list<T>(
  value: string | undefined,
  fallback: readonly T[],
  parse: (s: string) => T,
  known?: readonly T[],
) {
  const items = value ? value.split(",").map((s) => parse(s.trim())) : [...fallback];
  for (const item of items) {
    if (known && !known.includes(item)) {
      throw new Error(`unknown value "${item}"; known: ${known.join(", ")}`);
    }
    if (typeof item === "number" && !(item > 0)) throw new Error(`expected positive numbers, got "${value}"`);
  }
  if (items.length === 0) throw new Error("an empty list was given");
  return items;
}

const smoke = args.smoke;
const layouts = list(
  args.layouts,
  smoke ? ["bistro-40"] : LAYOUTS.map((l) => l.id),
  String,
  LAYOUTS.map((l) => l.id),
);
const mixes = list(
  args.mixes,
  smoke ? ["casual"] : Object.keys(MIXES),
  String,
  Object.keys(MIXES),
) as MixId[];
const loads = list(args.loads, smoke ? [0.9, 1.5] : [0.6, 0.9, 1.2, 1.5], Number);
// The strategy's weights were tuned on seeds 1–6 (confirmed on 7–9); the reported matrix uses other seeds.
const seeds = list(args.seeds, smoke ? [11] : [11, 12, 13], Number);
const jobs = Math.max(1, Math.min(8, Number(args.jobs) || 1));
const numbers = ["repack-seconds", "clairvoyant-seconds", "max-moves", "exact-ms"] as const;
for (const k of numbers) if (!(Number(args[k]) > 0)) throw new Error(`--${k} must be a positive number`);

// The sample day for the occupancy chart: the first layout's busiest cell of the first seed and mix.
const sample = { layout: layouts[0], mix: mixes[0], load: loads[loads.length - 1], seed: seeds[0] };
const specs: CellSpec[] = [];
for (const seed of seeds) {
  for (const layout of layouts) {
    for (const mix of mixes) {
      for (const load of loads) {
        specs.push({
          layout,
          mix,
          load,
          seed,
          repackSeconds: Number(args["repack-seconds"]),
          clairvoyantSeconds: Number(args["clairvoyant-seconds"]),
          maxMoves: Number(args["max-moves"]),
          exactMs: Number(args["exact-ms"]),
          keepSeating: layout === sample.layout && mix === sample.mix && load === sample.load &&
            seed === sample.seed,
        });
      }
    }
  }
}
// Biggest rooms first, so the long cells do not all land at the end of the run.
const order = [...specs].sort((a, b) =>
  layoutById(b.layout).tables.length - layoutById(a.layout).tables.length
);

// Read before the run: the load at start is part of what a wall-time budget measured.
const context = await runContext();
const started = Date.now();
const cells: CellResult[] = [];
const failed: CellSpec[] = [];
const tty = Deno.stderr.isTerminal();
const encoder = new TextEncoder();
function progress(last: CellSpec) {
  const done = cells.length + failed.length;
  const elapsed = (Date.now() - started) / 1000;
  const eta = done === 0 ? 0 : (elapsed / done) * (specs.length - done);
  const width = 30;
  const bar = "#".repeat(Math.round((done / specs.length) * width)).padEnd(width, ".");
  const line = `[${bar}] ${done}/${specs.length} cells · ${clock(elapsed)} elapsed · ETA ${clock(eta)} · ` +
    `${last.layout} ${last.mix} ρ=${last.load} seed ${last.seed}`;
  Deno.stderr.writeSync(encoder.encode(tty ? `\r${line.padEnd(110)}` : `${line}\n`));
}
function clock(seconds: number): string {
  const s = Math.round(seconds);
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`
    : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}

console.error(
  `quality benchmark: ${specs.length} cells (${layouts.length} layouts × ${mixes.length} mixes × ${loads.length} ` +
    `loads × ${seeds.length} seeds) on ${jobs} worker${jobs > 1 ? "s" : ""}`,
);
await new Promise<void>((resolve) => {
  let next = 0;
  let running = 0;
  const workers = Array.from(
    { length: Math.min(jobs, order.length) },
    () => new Worker(new URL("./worker.ts", import.meta.url).href, { type: "module" }),
  );
  const feed = (w: Worker) => {
    if (next >= order.length) {
      w.terminate();
      if (--running === 0) resolve();
      return;
    }
    const spec = order[next++];
    w.onmessage = (e: MessageEvent<{ ok: boolean; result?: CellResult; error?: string }>) => {
      // One broken cell must not throw away hours of others: report it, finish the rest, fail at the end.
      if (e.data.ok) cells.push(e.data.result!);
      else {
        failed.push(spec);
        console.error(
          `\ncell ${spec.layout} ${spec.mix} ρ=${spec.load} seed ${spec.seed} failed: ${e.data.error}`,
        );
      }
      progress(spec);
      feed(w);
    };
    w.postMessage(spec);
  };
  running = workers.length;
  workers.forEach(feed);
});
if (tty) console.error("");

cells.sort((a, b) => specs.indexOf(specOf(a)) - specs.indexOf(specOf(b)));
function specOf(c: CellResult): CellSpec {
  return specs.find((s) =>
    s.layout === c.spec.layout && s.mix === c.spec.mix && s.load === c.spec.load && s.seed === c.spec.seed
  )!;
}

const summary = summarise(cells);
const undetermined = cells.reduce((n, c) => n + c.fcfsRepack.undetermined, 0);
const command = `scripts/bench-quality ${Deno.args.join(" ")}`.trim();
const meta = {
  command: `\`${command}\``,
  run: `${describeRun(context)} · ${jobs} workers · ${clock((Date.now() - started) / 1000)}`,
  matrix: `layouts ${layouts.join(", ")}; mixes ${mixes.join(", ")}; loads ${loads.join(", ")}; seeds ${
    seeds.join(", ")
  } (${cells.length} days, ${cells.reduce((n, c) => n + c.requests, 0)} requests${
    failed.length ? `; ${failed.length} cells FAILED` : ""
  })`,
  "default strategy": `${DEFAULT_STRATEGY}; re-optimisation moves at most ${
    args["max-moves"]
  } bookings per request; the exact fallback's budget is ${args["exact-ms"]} ms per request`,
  solver: `HiGHS (npm highs); FCFS-repack ${args["repack-seconds"]} s per feasibility solve, clairvoyant ${
    args["clairvoyant-seconds"]
  } s per day`,
  yardstick: `${undetermined} of ${
    cells.reduce((n, c) => n + c.fcfsRepack.solves, 0)
  } FCFS-repack feasibility solves undetermined (out of time or aborted): each counts as a refusal, which lowers the yardstick and raises every ratio to it`,
};

const out = args.out ?? (args.smoke ? ".stack/bench-quality-smoke" : "scripts/bench/results/quality");
await Deno.mkdir(out, { recursive: true });
const strip = (c: CellResult) => ({ ...c, samples: undefined, seating: undefined });
await Deno.writeTextFile(
  `${out}/results.json`,
  JSON.stringify({ meta: { ...meta, command, context }, summary, cells: cells.map(strip) }, null, 1) + "\n",
);
const charts = [
  ["ratio-to-repack.svg", lineChart("Covers / FCFS-repack by load", loads, summary.ratioToRepack, "ratio")],
  [
    "ratio-to-clairvoyant.svg",
    lineChart(
      "Covers / clairvoyant optimum by load (cells solved to within 1 %)",
      loads,
      summary.ratioToClairvoyant,
      "ratio",
    ),
  ],
];
const sampleCell = cells.find((c) => c.seating);
if (sampleCell) {
  const day = generateDay(layoutById(sample.layout), sample.mix, sample.load, sample.seed);
  for (const policy of ["legacy_first_fit", DEFAULT_STRATEGY, DEFAULT_REOPT]) {
    const m = sampleCell.policies[policy];
    charts.push([
      `occupancy-${policy.replace(/[^a-z0-9_]+/g, "-")}.svg`,
      occupancyChart(
        `${sample.layout}, ${sample.mix}, ρ = ${sample.load}, seed ${sample.seed}: ${policy} (${m.accepted} of ${m.requests} requests, ${m.covers} covers)`,
        day.layout,
        day.requests,
        sampleCell.seating![policy],
        day.serviceStart,
        day.serviceEnd + 90 * 60_000,
      ),
    ]);
  }
}
for (const [name, svg] of charts) await Deno.writeTextFile(`${out}/${name}`, svg);
const md = markdown(cells, summary, meta) + "\n## Charts\n\n" +
  charts.map(([name]) => `![${name}](${name})`).join("\n\n") + "\n";
await Deno.writeTextFile(`${out}/summary.md`, md);

console.log(md.split("\n## Covers relative to the clairvoyant")[0]);
console.log(`wrote ${out}/summary.md, results.json and ${charts.length} charts`);
if (undetermined > 0) {
  console.error(`warning: ${meta.yardstick}; see the yardsticks table`);
}
if (failed.length > 0) {
  console.error(`${failed.length} cell(s) failed and are missing from the report (see above)`);
  Deno.exit(1);
}
if (summary.targets.some((t) => t.target.startsWith("safety") && !t.met)) {
  console.error("safety violations found: see results.json");
  Deno.exit(1);
}
