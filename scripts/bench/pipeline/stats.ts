// The benchmark's arithmetic, kept pure so it is tested without a database: latency summaries, goodput
// over time windows, re-dispatches and per-booking ratios.
import { percentile } from "../../../shared/testing/random.ts";

export interface Summary {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  n: number;
}

export function round(x: number, digits = 1): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** p50/p95/p99/max of a sample (NaN for an empty one, which JSON writes as null). */
export function summary(values: readonly number[]): Summary {
  return {
    p50: round(percentile(values, 50)),
    p95: round(percentile(values, 95)),
    p99: round(percentile(values, 99)),
    max: round(values.reduce((a, x) => Math.max(a, x), values.length ? -Infinity : NaN)),
    n: values.length,
  };
}

/** `x / bookings`, rounded; 0 bookings gives NaN rather than a misleading 0. */
export function perBooking(x: number, bookings: number, digits = 2): number {
  return bookings > 0 ? round(x / bookings, digits) : NaN;
}

export interface Window {
  /** Seconds from the start of the run, start inclusive, end exclusive. */
  from_s: number;
  to_s: number;
  /** Bookings that became terminal in the window, per second of window. */
  per_s: number;
}

/**
 * Goodput per window: how many of `times` (seconds from the start of the run at which a booking became
 * terminal) fall in each `width`-second window from 0 up to `until` seconds. A last, shorter window is
 * divided by its own length.
 */
export function goodputWindows(times: readonly number[], width: number, until: number): Window[] {
  const windows: Window[] = [];
  for (let from = 0; from < until - 1e-9; from += width) {
    const to = Math.min(from + width, until);
    const n = times.filter((t) => t >= from && t < to).length;
    windows.push({ from_s: round(from, 2), to_s: round(to, 2), per_s: round(n / (to - from)) });
  }
  return windows;
}

/** Bookings that became terminal between `from` and `to` seconds, per second. */
export function rateBetween(times: readonly number[], from: number, to: number): number {
  if (!(to > from)) return NaN;
  return round(times.filter((t) => t >= from && t <= to).length / (to - from));
}

/** Re-dispatches: every pick-up of a booking beyond its first, summed over bookings. */
export function redispatches(pickupsPerBooking: readonly number[]): number {
  return pickupsPerBooking.reduce((sum, n) => sum + Math.max(0, n - 1), 0);
}

/**
 * The capacity a curve measured: the most bookings per second any of its points made terminal (NaN for a
 * curve with no goodput). A point the pipeline kept up with is bounded by what it was offered; one past the
 * knee does less than the pipeline can, so the capacity probe adds points between the two (nextProbeRate).
 */
export function measuredCapacity(points: readonly { goodput_per_s: number }[]): number {
  const rates = points.map((p) => p.goodput_per_s).filter(Number.isFinite);
  return rates.length ? Math.max(...rates) : NaN;
}

/** A point of a curve as the capacity probe reads it. */
interface ProbePoint {
  planned_rate_per_s: number;
  goodput_per_s: number;
}

/** Whether a point kept up: its goodput at least 90 % of what it was offered. */
export function keptUp(p: ProbePoint): boolean {
  return p.goodput_per_s >= 0.9 * p.planned_rate_per_s;
}

/**
 * The next rate to try between the highest rate a curve kept up with and the lowest above it that it did not,
 * halfway, or null when there is no such pair or they are within 10 % of each other. A point past the knee does
 * less than the pipeline can (the excess inserts compete for the same cores), and one that kept up did what it
 * was offered, so a coarse grid (100 → 150/s) leaves the capacity anywhere between.
 */
export function nextProbeRate(points: readonly ProbePoint[]): number | null {
  const held = points.filter(keptUp).map((p) => p.planned_rate_per_s);
  if (!held.length) return null;
  const lo = Math.max(...held);
  const above = points.filter((p) => !keptUp(p) && p.planned_rate_per_s > lo).map((p) =>
    p.planned_rate_per_s
  );
  if (!above.length) return null;
  const hi = Math.min(...above);
  return hi - lo <= 0.1 * lo ? null : Math.round((lo + hi) / 2);
}
