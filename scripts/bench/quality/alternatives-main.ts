// Review alternatives benchmark: on the quality benchmark's seeded days, every request the pipeline's
// default strategy refuses (it would go to manual review: no_table_fits) gets the alternatives
// private.seating_alternatives would compute at that moment (the TypeScript twin in review-alternatives.ts,
// on the floor as it was when the request came in). Reports, per load, the share of those reviews with at
// least one alternative (target ≥ 90 % at ρ ≤ 1.2) and how far the alternatives are from the requested time.
// Reviews without a free alternative then get the pipeline's re-seating search (shared/engine/reseating.ts:
// the bounded re-seating search, then the exact solver, --reseating-ms per search, 0 leaving it out; a search
// whose budget ran out goes on with the times it left undecided, --searches per review in all), with
// the input review_reseating_probes would give it. Options:
//   --policy reoptimizing   reviews are the requests the re-optimising pipeline refuses (strategy, bounded
//                           re-seating, then the exact fallback), not the default's; needs the solver
//   --ceiling               also decide, for each review without an alternative, whether re-seating the
//                           bookings that may still move would have made one (review-ceiling.ts; slow: the
//                           solver at every full time, --ceiling-ms each)
// Usage:
//   deno run -A scripts/bench/quality/alternatives-main.ts [--seeds 11,12,13] [--layouts a,b] [--mixes a,b]
//     [--loads 0.6,0.9,1.2,1.5] [--policy default|reoptimizing] [--reseating-ms 1000] [--searches 4] [--ceiling]
//     [--ceiling-ms 1000] [--out DIR]
import { parseArgs } from "node:util";
import { DEFAULT_STRATEGY } from "../../../shared/engine/strategies/registry.ts";
import { DEFAULT_MAX_MOVES } from "../../../shared/engine/reoptimize.ts";
import { DEFAULT_EXACT_TIME_LIMIT_MS } from "../../../shared/engine/exact/fallback.ts";
import { percentile } from "../../../shared/testing/random.ts";
import { generateDay, MIXES, type MixId } from "./demand.ts";
import { channelTables } from "./floor.ts";
import { layoutById, LAYOUTS } from "./layouts.ts";
import { replayExact, replayStrategy } from "./policies.ts";
import {
  type CeilingProbe,
  ceilingProbes,
  type CeilingVerdict,
  ceilingVerdict,
  reseatingInput,
} from "./review-ceiling.ts";
import {
  DEFAULT_RESEATING_LIMIT,
  findReseatingOffers,
  RESEATING_SEARCHES_PER_REVIEW,
  type ReseatingOffer,
} from "../../../shared/engine/reseating.ts";
import { DEFAULT_RESEATING_BUDGET_MS } from "../../../shared/coordinator/config.ts";
import { type AlternativesInput, seatingAlternatives } from "./review-alternatives.ts";
import { type MissCause, missCauses } from "./review-misses.ts";
import { describeRun, runContext } from "../run-context.ts";

const { values: args } = parseArgs({
  options: {
    seeds: { type: "string", default: "11,12,13" },
    layouts: { type: "string", default: LAYOUTS.map((l) => l.id).join(",") },
    mixes: { type: "string", default: Object.keys(MIXES).join(",") },
    loads: { type: "string", default: "0.6,0.9,1.2,1.5" },
    policy: { type: "string", default: "default" },
    ceiling: { type: "boolean", default: false },
    "ceiling-ms": { type: "string", default: String(DEFAULT_EXACT_TIME_LIMIT_MS) },
    "reseating-ms": { type: "string", default: String(DEFAULT_RESEATING_BUDGET_MS) },
    searches: { type: "string", default: String(RESEATING_SEARCHES_PER_REVIEW) },
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
if (args.policy !== "default" && args.policy !== "reoptimizing") {
  throw new Error(`--policy is default or reoptimizing, not "${args.policy}"`);
}
const reoptimizing = args.policy === "reoptimizing";
const ceilingMs = Number(args["ceiling-ms"]);
if (!(ceilingMs > 0)) throw new Error("--ceiling-ms must be a positive number of milliseconds");
const reseatingMs = Number(args["reseating-ms"]);
if (!(reseatingMs >= 0)) throw new Error("--reseating-ms must be 0 or more milliseconds");
const searchesPerReview = Number(args.searches);
if (!Number.isInteger(searchesPerReview) || searchesPerReview < 1) {
  throw new Error("--searches must be 1 or more");
}
const name = reoptimizing ? "alternatives-reoptimizing" : "alternatives";
// The re-seating search's budget is wall time: what it finds depends on the machine, so the report says which.
const run = await runContext();
const runStarted = performance.now();

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
  /** Reviews without a free alternative that the re-seating search gave one. */
  reseated: number;
  /** |offset| of the nearest re-seating alternative of each of those, minutes. */
  reseatedNearest: number[];
  /** Moves per re-seating alternative offered. */
  movesPerOffer: number[];
  /** The search's time per search (one request each), ms. */
  reseatingMs: number[];
  /** Reviews searched that got no offer while some nearer time was left undecided when the budget ran out. */
  unfinished: number;
  /** Searches (requests) per review searched. */
  searchesPerReview: number[];
  /** With --ceiling: the misses by whether re-seating would have made an alternative. */
  ceiling: Record<CeilingVerdict, number>;
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
    reseated: 0,
    reseatedNearest: [],
    movesPerOffer: [],
    reseatingMs: [],
    unfinished: 0,
    searchesPerReview: [],
    ceiling: { seatable: 0, none: 0, budget_exhausted: 0 },
  };
  byLoad.set(load, result);
  for (const seed of seeds) {
    for (const layout of layouts) {
      for (const mix of mixes) {
        const day = generateDay(layout, mix, load, seed);
        result.requests += day.requests.length;
        const probes: CeilingProbe[][] = [];
        const searches: ReturnType<typeof reseatingInput>[] = [];
        const onNoFit: Parameters<typeof replayStrategy>[2] = (r, seated) => {
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
            if (args.ceiling) probes.push(ceilingProbes(day, seated, r));
            if (reseatingMs > 0) searches.push(reseatingInput(day, seated, r));
            return;
          }
          result.withAlternative++;
          result.nearest.push(Math.abs(found[0].offsetMinutes));
          for (const a of found) result.all.push(Math.abs(a.offsetMinutes));
        };
        if (reoptimizing) {
          await replayExact(day, DEFAULT_STRATEGY, DEFAULT_MAX_MOVES, DEFAULT_EXACT_TIME_LIMIT_MS, onNoFit);
        } else replayStrategy(day, DEFAULT_STRATEGY, onNoFit);
        for (const p of probes) result.ceiling[await ceilingVerdict(p, DEFAULT_STRATEGY, ceilingMs)]++;
        for (const { snapshot, tablesFor, probes } of searches) {
          // As the pipeline does: a search whose budget ran out goes on in a later request with the times it
          // left undecided (public.review_offer_reseating keeps the nearest three offers of all its searches).
          let offers: ReseatingOffer[] = [];
          let left = probes;
          let search = 0;
          let exhausted = false;
          // One request at least, as in the pipeline, even when no time is left to try.
          do {
            search++;
            const started = performance.now();
            const found = await findReseatingOffers(snapshot, left, {
              strategy: DEFAULT_STRATEGY,
              maxMoves: DEFAULT_MAX_MOVES,
              budgetMs: reseatingMs,
              tablesFor,
            });
            result.reseatingMs.push(performance.now() - started);
            exhausted ||= found.exhausted.length > 0;
            const distance = (o: { startAt: number }) => Math.abs(o.startAt - snapshot.startAt);
            offers = [...offers, ...found.offers].sort((x, y) =>
              distance(x) - distance(y) || x.startAt - y.startAt
            )
              .slice(0, DEFAULT_RESEATING_LIMIT);
            left = probes.filter((p) => found.undecided.includes(p.startAt));
            const third = offers[DEFAULT_RESEATING_LIMIT - 1];
            if (third) {
              left = left.filter((p) =>
                distance(p) < distance(third) ||
                (distance(p) === distance(third) && p.startAt < third.startAt)
              );
            }
          } while (search < searchesPerReview && left.length > 0);
          result.searchesPerReview.push(search);
          if (offers.length === 0 && (left.length > 0 || exhausted)) result.unfinished++;
          if (offers.length === 0) continue;
          result.reseated++;
          result.reseatedNearest.push(Math.abs(offers[0].startAt - snapshot.startAt) / MIN);
          for (const o of offers) result.movesPerOffer.push(o.moves.length);
        }
        // --ceiling probes the same reviews the re-seating search searches.
        const searched = Math.max(searches.length, probes.length);
        if (searched > 0) {
          // A search-heavy seed takes most of an hour: one line per day says how far it is.
          const seconds = Math.round((performance.now() - runStarted) / 1000);
          console.error(
            `ρ ${load} seed ${seed} ${layout.id} ${mix}: ${searched} reviews searched, ` +
              `${result.reseated} offered so far (${seconds} s)`,
          );
        }
      }
    }
    if (reoptimizing || args.ceiling || reseatingMs > 0) {
      console.error(
        `ρ ${load} seed ${seed}: ${result.reviews} reviews, ${result.withAlternative} with a free alternative, ` +
          `${result.reseated} more with a re-seating one so far`,
      );
    }
  }
}

const pct = (n: number, d: number) => d === 0 ? "–" : `${(100 * n / d).toFixed(1)} %`;
const q = (values: number[], p: number) => values.length === 0 ? "–" : `${percentile(values, p)} min`;
const ms = (values: number[], p: number) => values.length === 0 ? "–" : `${percentile(values, p).toFixed(0)}`;
const rows = [...byLoad.values()].map((r) => {
  const offered = r.withAlternative + r.reseated;
  const nearest = [...r.nearest, ...r.reseatedNearest];
  return `| ${r.load} | ${r.requests} | ${r.reviews} | ${pct(r.withAlternative, r.reviews)} | ${
    pct(offered, r.reviews)
  } | ${r.load <= 1.2 ? (r.reviews === 0 || offered / r.reviews >= 0.9 ? "met" : "**missed**") : "–"} | ${
    q(nearest, 50)
  } | ${q(nearest, 90)} | ${q(r.all, 50)} | ${q(r.all, 90)} | ${
    r.reviews === 0 ? "–" : (r.alternativesPerReview.reduce((a, b) => a + b, 0) / r.reviews).toFixed(2)
  } |`;
});
const reseatingRows = [...byLoad.values()].map((r) =>
  `| ${r.load} | ${r.reviews - r.withAlternative} | ${r.reseated} | ${r.unfinished} | ${
    q(r.reseatedNearest, 50)
  } | ${q(r.reseatedNearest, 90)} | ${r.movesPerOffer.length ? percentile(r.movesPerOffer, 50) : "–"} | ${
    r.movesPerOffer.length ? Math.max(...r.movesPerOffer) : "–"
  } | ${
    r.searchesPerReview.length
      ? (r.searchesPerReview.reduce((a, b) => a + b, 0) / r.searchesPerReview.length).toFixed(2)
      : "–"
  } | ${ms(r.reseatingMs, 50)} | ${ms(r.reseatingMs, 95)} | ${
    r.reseatingMs.length ? Math.max(...r.reseatingMs).toFixed(0) : "–"
  } |`
);
const reseatingSection = reseatingMs === 0 ? [] : [
  "Re-seating alternatives: each review without a free alternative, searched as the coordinator function " +
  "searches it once its restaurant has nothing waiting (the bounded re-seating search at each time, then the " +
  `exact solver, ${reseatingMs} ms per search; a search whose budget ran out before nearer times were decided ` +
  `goes on with those alone in a later request, ${searchesPerReview} searches at most), up to three times that ` +
  "need other bookings moved. " +
  "Accepting one moves those bookings (not seated, not placed by staff, not starting within 30 minutes) to " +
  "the tables it names, re-checked under the lock.",
  "",
  "| load ρ | reviews without a free alternative | given a re-seating one | none, budget spent before a nearer time was decided | nearest p50 | nearest p90 | moves per offer p50 | moves max | searches per review | ms per search p50 | p95 | max |",
  "| ------ | ---------------------------------- | ---------------------- | --------------------------------------------------- | ----------- | ----------- | ------------------- | --------- | ------------------- | ----------------- | --- | --- |",
  ...reseatingRows,
  "",
];
const policy = reoptimizing
  ? `Strategy \`${DEFAULT_STRATEGY}\` with re-optimisation on (up to ${DEFAULT_MAX_MOVES} moves, then the exact ` +
    `fallback, ${DEFAULT_EXACT_TIME_LIMIT_MS} ms)`
  : `Strategy \`${DEFAULT_STRATEGY}\` (the pipeline's default, re-optimisation off)`;
const ceilingRows = [...byLoad.values()].map((r) => {
  const n = r.reviews - r.withAlternative;
  const c = r.ceiling;
  return `| ${r.load} | ${r.reviews} | ${pct(r.withAlternative, r.reviews)} | ${
    pct(r.withAlternative + c.seatable, r.reviews)
  } | ${n} | ${c.seatable} | ${c.none} | ${c.budget_exhausted} |`;
});
const ceilingSection = !args.ceiling ? [] : [
  "The ceiling: had re-seating the bookings that may still move (not starting within 30 minutes) been allowed " +
  "when the alternatives were searched, at how many reviews would some time within the window have seated " +
  `the party? The exact fallback decides each open time that is not past, ${ceilingMs} ms each (a review whose ` +
  "only undecided times ran out of budget counts as not seatable).",
  "",
  "| load ρ | reviews | with ≥ 1 alternative | with re-seating too (ceiling) | misses | seatable by re-seating | proven full | budget ran out |",
  "| ------ | ------- | -------------------- | ----------------------------- | ------ | ---------------------- | ----------- | -------------- |",
  ...ceilingRows,
  "",
];
const summary = [
  "# Review alternatives",
  "",
  `${describeRun(run)}.`,
  "",
  `${policy}; seeds ${seeds.join(", ")}; ` +
  `layouts ${layouts.map((l) => l.id).join(", ")}; mixes ${mixes.join(", ")}. A review is a request the ` +
  "policy refused when it came in; its alternatives are computed on the floor as it was then, up to three " +
  "start times within ±90 minutes on the 15-minute grid, inside the 17:00–23:00 service, not before the " +
  "request was made. Offsets are |alternative − requested start|.",
  "",
  "| load ρ | requests | reviews | with a free alternative | with ≥ 1 alternative, re-seating included | target ≥ 90 % (ρ ≤ 1.2) | nearest p50 | nearest p90 | free: all p50 | free: all p90 | free alternatives per review |",
  "| ------ | -------- | ------- | ----------------------- | ----------------------------------------- | ----------------------- | ----------- | ----------- | ------------- | ------------- | ---------------------------- |",
  ...rows,
  "",
  ...reseatingSection,
  "Reviews without a free alternative, by what happened to the 12 grid times within ±90 minutes: all open and " +
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
  ...ceilingSection,
].join("\n");

await Deno.mkdir(args.out, { recursive: true });
await Deno.writeTextFile(`${args.out}/${name}.md`, summary);
await Deno.writeTextFile(
  `${args.out}/${name}.json`,
  JSON.stringify(
    {
      ...run,
      strategy: DEFAULT_STRATEGY,
      policy: args.policy,
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
        ...(reseatingMs > 0
          ? {
            reseating: {
              budget_ms: reseatingMs,
              searched: r.searchesPerReview.length,
              offered: r.reseated,
              with_alternative_total: r.withAlternative + r.reseated,
              nearest_offset_p50: r.reseatedNearest.length ? percentile(r.reseatedNearest, 50) : null,
              moves_per_offer_p50: r.movesPerOffer.length ? percentile(r.movesPerOffer, 50) : null,
              search_ms_p50: r.reseatingMs.length ? percentile(r.reseatingMs, 50) : null,
              search_ms_p95: r.reseatingMs.length ? percentile(r.reseatingMs, 95) : null,
              search_ms_max: r.reseatingMs.length ? Math.max(...r.reseatingMs) : null,
              unfinished: r.unfinished,
              searches_per_review_max: searchesPerReview,
              searches: r.searchesPerReview.reduce((a, b) => a + b, 0),
            },
          }
          : {}),
        ...(args.ceiling ? { ceiling: { ...r.ceiling, time_limit_ms: ceilingMs } } : {}),
      })),
    },
    null,
    2,
  ) + "\n",
);
console.log(summary);
