// Review alternatives benchmark: on the quality benchmark's seeded days, every request the pipeline's
// default strategy refuses (it would go to manual review: no_table_fits) gets the alternatives
// private.seating_alternatives would compute at that moment (the TypeScript twin in review-alternatives.ts,
// on the floor as it was when the request came in). Reports, per load, the share of those reviews with at
// least one alternative (target ≥ 90 % at ρ ≤ 1.2) and how far the alternatives are from the requested time.
// No database and no solver: a full matrix takes a few minutes. Usage:
//   deno run -A scripts/bench/quality/alternatives-main.ts [--seeds 11,12,13] [--layouts a,b] [--mixes a,b]
//     [--loads 0.6,0.9,1.2,1.5] [--out DIR]
import { parseArgs } from "node:util";
import { DEFAULT_STRATEGY } from "../../../shared/engine/strategies/registry.ts";
import { percentile } from "../../../shared/testing/random.ts";
import { generateDay, MIXES, type MixId } from "./demand.ts";
import { channelTables } from "./floor.ts";
import { layoutById, LAYOUTS } from "./layouts.ts";
import { replayStrategy } from "./policies.ts";
import { type AlternativesInput, seatingAlternatives } from "./review-alternatives.ts";
import { type MissCause, missCauses } from "./review-misses.ts";

const { values: args } = parseArgs({
  options: {
    seeds: { type: "string", default: "11,12,13" },
    layouts: { type: "string", default: LAYOUTS.map((l) => l.id).join(",") },
    mixes: { type: "string", default: Object.keys(MIXES).join(",") },
    loads: { type: "string", default: "0.6,0.9,1.2,1.5" },
    out: { type: "string", default: "scripts/bench/results/quality" },
  },
});
const split = (s: string) => s.split(",").map((x) => x.trim()).filter(Boolean);
const seeds = split(args.seeds).map(Number);
const layouts = split(args.layouts).map(layoutById);
const mixes = split(args.mixes) as MixId[];
for (const m of mixes) if (!(m in MIXES)) throw new Error(`unknown mix "${m}"`);
const loads = split(args.loads).map(Number);
if ([...seeds, ...loads].some((n) => !(n > 0))) throw new Error("seeds and loads must be positive numbers");

interface LoadResult {
  load: number;
  requests: number;
  reviews: number;
  withAlternative: number;
  /** |offset| of each review's nearest alternative, minutes. */
  nearest: number[];
  /** |offset| of every alternative offered, minutes. */
  all: number[];
  alternativesPerReview: number[];
  /** Reviews without an alternative, by cause (a miss may have several). */
  misses: Record<MissCause, number>;
  walkInMisses: number;
}

const MIN = 60_000;
const byLoad = new Map<number, LoadResult>();
for (const load of loads) {
  const result: LoadResult = {
    load,
    requests: 0,
    reviews: 0,
    withAlternative: 0,
    nearest: [],
    all: [],
    alternativesPerReview: [],
    misses: { no_arrangement: 0, saturation: 0, past: 0, service_start: 0, service_end: 0 },
    walkInMisses: 0,
  };
  byLoad.set(load, result);
  for (const seed of seeds) {
    for (const layout of layouts) {
      for (const mix of mixes) {
        const day = generateDay(layout, mix, load, seed);
        result.requests += day.requests.length;
        replayStrategy(day, DEFAULT_STRATEGY, (r, seated) => {
          const input: AlternativesInput = {
            partySize: r.partySize,
            startAt: r.startAt,
            stayMs: r.diningMinutes * MIN,
            bufferBeforeMs: 0,
            bufferAfterMs: layout.bufferAfterMinutes * MIN,
            now: r.bookedAt,
            tables: channelTables(layout, r.walkIn),
            adjacency: layout.adjacency,
            maxTables: layout.maxTables,
            isOpen: (start, end) => start >= day.serviceStart && end <= day.serviceEnd,
            isFree: (ids, start, end) => seated.isFree(ids, start, end),
          };
          const found = seatingAlternatives(input);
          result.reviews++;
          result.alternativesPerReview.push(found.length);
          if (found.length === 0) {
            for (const cause of missCauses(input)) result.misses[cause]++;
            if (r.walkIn) result.walkInMisses++;
            return;
          }
          result.withAlternative++;
          result.nearest.push(Math.abs(found[0].offsetMinutes));
          for (const a of found) result.all.push(Math.abs(a.offsetMinutes));
        });
      }
    }
  }
}

const pct = (n: number, d: number) => d === 0 ? "–" : `${(100 * n / d).toFixed(1)} %`;
const q = (values: number[], p: number) => values.length === 0 ? "–" : `${percentile(values, p)} min`;
const rows = [...byLoad.values()].map((r) =>
  `| ${r.load} | ${r.requests} | ${r.reviews} | ${pct(r.withAlternative, r.reviews)} | ${
    r.load <= 1.2 ? (r.reviews === 0 || r.withAlternative / r.reviews >= 0.9 ? "met" : "**missed**") : "–"
  } | ${q(r.nearest, 50)} | ${q(r.nearest, 90)} | ${q(r.all, 50)} | ${q(r.all, 90)} | ${
    r.reviews === 0 ? "–" : (r.alternativesPerReview.reduce((a, b) => a + b, 0) / r.reviews).toFixed(2)
  } |`
);
const summary = [
  "# Review alternatives",
  "",
  `Strategy \`${DEFAULT_STRATEGY}\` (the pipeline's default, re-optimisation off); seeds ${
    seeds.join(", ")
  }; ` +
  `layouts ${layouts.map((l) => l.id).join(", ")}; mixes ${mixes.join(", ")}. A review is a request the ` +
  "strategy refused when it came in; its alternatives are computed on the floor as it was then, up to three " +
  "start times within ±90 minutes on the 15-minute grid, inside the 17:00–23:00 service, not before the " +
  "request was made. Offsets are |alternative − requested start|.",
  "",
  "| load ρ | requests | reviews | with ≥ 1 alternative | target ≥ 90 % (ρ ≤ 1.2) | nearest p50 | nearest p90 | all p50 | all p90 | alternatives per review |",
  "| ------ | -------- | ------- | -------------------- | ----------------------- | ----------- | ----------- | ------- | ------- | ----------------------- |",
  ...rows,
  "",
  "Reviews without an alternative, by what happened to the 12 grid times within ±90 minutes: all open and " +
  "full (peak saturation), or some cut because they were before the request was made (walk-ins, late " +
  "bookings), or outside the service (its start or its end); a miss cut both ways counts in both columns. " +
  "Shares are of the misses.",
  "",
  "| load ρ | misses | saturation (all full) | before the request | after the close | before the opening | no arrangement | walk-ins among misses |",
  "| ------ | ------ | --------------------- | ------------------ | --------------- | ------------------ | -------------- | --------------------- |",
  ...[...byLoad.values()].map((r) => {
    const n = r.reviews - r.withAlternative;
    const m = r.misses;
    return `| ${r.load} | ${n} | ${pct(m.saturation, n)} | ${pct(m.past, n)} | ${pct(m.service_end, n)} | ${
      pct(m.service_start, n)
    } | ${pct(m.no_arrangement, n)} | ${pct(r.walkInMisses, n)} |`;
  }),
  "",
].join("\n");

await Deno.mkdir(args.out, { recursive: true });
await Deno.writeTextFile(`${args.out}/alternatives.md`, summary);
await Deno.writeTextFile(
  `${args.out}/alternatives.json`,
  JSON.stringify(
    {
      strategy: DEFAULT_STRATEGY,
      seeds,
      layouts: layouts.map((l) => l.id),
      mixes,
      loads: [...byLoad.values()].map((r) => ({
        load: r.load,
        requests: r.requests,
        reviews: r.reviews,
        with_alternative: r.withAlternative,
        nearest_offset_p50: r.nearest.length ? percentile(r.nearest, 50) : null,
        nearest_offset_p90: r.nearest.length ? percentile(r.nearest, 90) : null,
        offset_p50: r.all.length ? percentile(r.all, 50) : null,
        offset_p90: r.all.length ? percentile(r.all, 90) : null,
        misses_by_cause: r.misses,
        walk_in_misses: r.walkInMisses,
      })),
    },
    null,
    2,
  ) + "\n",
);
console.log(summary);
