import { assert, assertEquals } from "../../../shared/testing/assert.ts";
import { curveChart, decades, tickStep } from "./svg.ts";

Deno.test("tick steps are 1, 2 or 5 × 10^k; log ticks span whole decades", () => {
  assertEquals(tickStep(420), 100);
  assertEquals(tickStep(105), 20);
  assertEquals(tickStep(8), 1);
  assertEquals(decades(12, 31000), [10, 100, 1000, 10000, 100000]);
  assertEquals(decades(5, 5), [1, 10]);
});

Deno.test("the curve chart is one SVG with a point per offered rate for each series, escaped", () => {
  const svg = curveChart("goodput & p95 <test>", [
    { offered: 20, goodput: 20, p95_ms: 30 },
    { offered: 100, goodput: 99, p95_ms: 250 },
    { offered: 300, goodput: 180, p95_ms: 21000 },
  ]);
  assert(svg.startsWith("<svg ") && svg.trimEnd().endsWith("</svg>"));
  assert(svg.includes("goodput &amp; p95 &lt;test&gt;"));
  assertEquals(svg.match(/<circle /g)?.length, 6);
  assertEquals(svg.match(/<polyline /g)?.length, 2);
  assert(!/NaN|Infinity|undefined/.test(svg), "every coordinate is a number");
});

Deno.test("a point without a latency is left out of that series only", () => {
  const svg = curveChart("t", [{ offered: 20, goodput: 0, p95_ms: NaN }, {
    offered: 50,
    goodput: 50,
    p95_ms: 40,
  }]);
  assertEquals(svg.match(/<circle /g)?.length, 3);
  assert(!/NaN|Infinity/.test(svg));
});
