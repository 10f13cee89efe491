// Plain SVG charts for the benchmark report: ratio by load per policy, and one day's tables over time.
import type { Request } from "./demand.ts";
import type { Layout } from "./layouts.ts";

const COLOURS = ["#8c8c8c", "#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#ff7f0e", "#17becf", "#e377c2"];
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export function lineChart(
  title: string,
  xs: readonly number[],
  series: Readonly<Record<string, Readonly<Record<string, number>>>>,
  yLabel: string,
): string {
  const width = 720, height = 420, left = 70, right = 220, top = 40, bottom = 50;
  const values = Object.values(series).flatMap((s) => xs.map((x) => s[String(x)])).filter(Number.isFinite);
  const lo = Math.floor(Math.min(...values, 1) * 50) / 50 - 0.02;
  const hi = Math.ceil(Math.max(...values, 1) * 50) / 50 + 0.01;
  const px = (i: number) => left + (xs.length === 1 ? 0.5 : i / (xs.length - 1)) * (width - left - right);
  const py = (v: number) => top + (1 - (v - lo) / (hi - lo)) * (height - top - bottom);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`,
  ];
  const step = [0.005, 0.01, 0.02, 0.05, 0.1].find((s) => (hi - lo) / s <= 10) ?? 0.2;
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) {
    out.push(
      `<line x1="${left}" x2="${width - right}" y1="${py(v)}" y2="${py(v)}" stroke="#eee"/>`,
      `<text x="${left - 8}" y="${py(v) + 4}" text-anchor="end">${v.toFixed(step < 0.01 ? 3 : 2)}</text>`,
    );
  }
  out.push(
    `<line x1="${left}" x2="${width - right}" y1="${py(1)}" y2="${
      py(1)
    }" stroke="#444" stroke-dasharray="4 3"/>`,
  );
  xs.forEach((x, i) =>
    out.push(`<text x="${px(i)}" y="${height - bottom + 20}" text-anchor="middle">ρ = ${x}</text>`)
  );
  out.push(
    `<text transform="translate(18 ${(top + height - bottom) / 2}) rotate(-90)" text-anchor="middle">${
      esc(yLabel)
    }</text>`,
  );
  Object.entries(series).forEach(([name, s], k) => {
    const colour = COLOURS[k % COLOURS.length];
    const points = xs.map((x, i) => [px(i), py(s[String(x)])]).filter(([, y]) => Number.isFinite(y));
    out.push(
      `<polyline fill="none" stroke="${colour}" stroke-width="2" points="${
        points.map((p) => p.join(",")).join(" ")
      }"/>`,
      ...points.map(([x, y]) => `<circle cx="${x}" cy="${y}" r="3" fill="${colour}"/>`),
      `<rect x="${width - right + 15}" y="${top + k * 20 - 9}" width="12" height="12" fill="${colour}"/>`,
      `<text x="${width - right + 32}" y="${top + k * 20 + 1}">${esc(name)}</text>`,
    );
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}

/** Tables down, time across: each accepted booking as a bar on its tables, shaded by party size. */
export function occupancyChart(
  title: string,
  layout: Layout,
  requests: readonly Request[],
  seating: readonly (readonly string[] | null)[],
  from: number,
  to: number,
): string {
  const rowHeight = 9, left = 60, right = 20, top = 40, width = 960;
  const height = top + layout.tables.length * rowHeight + 40;
  const px = (t: number) => left + ((t - from) / (to - from)) * (width - left - right);
  const row = new Map(layout.tables.map((t, i) => [t.id, i]));
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="10">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="22" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
  for (let t = from; t <= to; t += 3_600_000) {
    const hour = new Date(t).toISOString().slice(11, 16);
    out.push(
      `<line x1="${px(t)}" x2="${px(t)}" y1="${top}" y2="${height - 30}" stroke="#ddd"/>`,
      `<text x="${px(t)}" y="${height - 16}" text-anchor="middle">${hour}</text>`,
    );
  }
  layout.tables.forEach((t, i) =>
    out.push(
      `<text x="${left - 6}" y="${top + i * rowHeight + 8}" text-anchor="end">${
        esc(t.number)
      } (${t.capacity})</text>`,
    )
  );
  for (const r of requests) {
    const tables = seating[r.index];
    if (!tables) continue;
    const shade = Math.max(25, 85 - r.partySize * 6);
    for (const id of tables) {
      const y = top + row.get(id)! * rowHeight + 1;
      out.push(
        `<rect x="${px(r.windowStart)}" y="${y}" width="${px(r.windowEnd) - px(r.windowStart) - 1}" height="${
          rowHeight - 2
        }" fill="hsl(210 60% ${shade}%)"><title>party of ${r.partySize}</title></rect>`,
      );
    }
  }
  out.push("</svg>");
  return out.join("\n") + "\n";
}
