// The load curve as a plain SVG: goodput (left axis, linear, with the goodput = offered diagonal) and p95
// insert→confirmed (right axis, logarithmic) against offered load.

export interface CurvePoint {
  offered: number;
  goodput: number;
  p95_ms: number;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const f = (x: number) => String(Math.round(x * 10) / 10);

/** A round tick step (1, 2 or 5 × 10^k) giving at most `most` steps up to `hi`. */
export function tickStep(hi: number, most = 8): number {
  const base = 10 ** Math.floor(Math.log10(Math.max(hi, 1e-9) / most));
  return [1, 2, 5, 10].map((m) => m * base).find((s) => hi / s <= most) ?? 10 * base;
}

/** Powers of ten spanning [lo, hi] (at least one decade). */
export function decades(lo: number, hi: number): number[] {
  const a = Math.floor(Math.log10(Math.max(lo, 0.1))),
    b = Math.max(a + 1, Math.ceil(Math.log10(Math.max(hi, 0.1))));
  return Array.from({ length: b - a + 1 }, (_, i) => 10 ** (a + i));
}

export function curveChart(title: string, points: readonly CurvePoint[]): string {
  const width = 760, height = 440, left = 70, right = 80, top = 50, bottom = 55;
  const plotW = width - left - right, plotH = height - top - bottom;
  const xMax = Math.max(1, ...points.map((p) => p.offered)) * 1.05;
  const xStep = tickStep(xMax);
  const yMax = Math.max(1, ...points.flatMap((p) => [p.offered, p.goodput])) * 1.05;
  const yStep = tickStep(yMax);
  const latencies = points.map((p) => p.p95_ms).filter((v) => Number.isFinite(v) && v > 0);
  const dec = decades(Math.min(...latencies, 10), Math.max(...latencies, 100));
  const [lLo, lHi] = [Math.log10(dec[0]), Math.log10(dec[dec.length - 1])];
  const px = (x: number) => left + (x / xMax) * plotW;
  const py = (y: number) => top + (1 - y / yMax) * plotH;
  const pl = (ms: number) => top + (1 - (Math.log10(ms) - lLo) / (lHi - lLo)) * plotH;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`,
  ];
  for (let y = 0; y <= yMax; y += yStep) {
    out.push(
      `<line x1="${left}" x2="${width - right}" y1="${f(py(y))}" y2="${f(py(y))}" stroke="#eee"/>`,
      `<text x="${left - 8}" y="${f(py(y) + 4)}" text-anchor="end">${f(y)}</text>`,
    );
  }
  for (let x = 0; x <= xMax; x += xStep) {
    out.push(`<text x="${f(px(x))}" y="${height - bottom + 18}" text-anchor="middle">${f(x)}</text>`);
  }
  for (const ms of dec) {
    const label = ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`;
    out.push(`<text x="${width - right + 8}" y="${f(pl(ms) + 4)}" fill="#d62728">${label}</text>`);
  }
  out.push(
    `<line x1="${left}" x2="${width - right}" y1="${top + plotH}" y2="${top + plotH}" stroke="#444"/>`,
    `<line x1="${f(px(0))}" y1="${f(py(0))}" x2="${f(px(Math.min(xMax, yMax)))}" y2="${
      f(py(Math.min(xMax, yMax)))
    }" stroke="#888" stroke-dasharray="4 3"/>`,
    `<text x="${left + plotW / 2}" y="${height - 12}" text-anchor="middle">offered load (bookings/s)</text>`,
    `<text transform="translate(18 ${
      top + plotH / 2
    }) rotate(-90)" text-anchor="middle">goodput (bookings/s)</text>`,
    `<text transform="translate(${width - 12} ${
      top + plotH / 2
    }) rotate(90)" text-anchor="middle" fill="#d62728">p95 insert→confirmed (log)</text>`,
  );
  const series: [string, string, (p: CurvePoint) => number | null][] = [
    ["goodput", "#1f77b4", (p) => py(p.goodput)],
    [
      "p95 insert→confirmed",
      "#d62728",
      (p) => (p.p95_ms > 0 && Number.isFinite(p.p95_ms) ? pl(p.p95_ms) : null),
    ],
  ];
  series.forEach(([name, colour, y], k) => {
    const pts = points.map((p) => [px(p.offered), y(p)] as const).filter(([, v]) => v !== null) as [
      number,
      number,
    ][];
    out.push(
      `<polyline fill="none" stroke="${colour}" stroke-width="2" points="${
        pts.map(([a, b]) => `${f(a)},${f(b)}`).join(" ")
      }"/>`,
      ...pts.map(([a, b]) => `<circle cx="${f(a)}" cy="${f(b)}" r="3" fill="${colour}"/>`),
      `<rect x="${left + 10}" y="${top + 6 + k * 18}" width="12" height="12" fill="${colour}"/>`,
      `<text x="${left + 28}" y="${top + 16 + k * 18}">${esc(name)}</text>`,
    );
  });
  out.push(
    `<text x="${left + 10}" y="${top + 52}" fill="#888">dashed: goodput = offered</text>`,
    "</svg>",
  );
  return out.join("\n") + "\n";
}
