// The benchmark's twin of private.seating_alternatives: for a booking nothing fits, the nearest start times
// (15-minute grid, within ±90 minutes, not its own, not in the past, nearest first and the earlier of two
// equally near first) at which the party can be seated, each with the arrangement it would get. The rules
// are the engine's (enumerateCandidates: single tables whose party range fits, connected movable groups
// in one zone in which every table is needed), ranked as the SQL ranks them: single tables by spare seats,
// then groups by 100 × tables + spare seats, ties by table numbers. Every real time zone's offset is a
// multiple of 15 minutes, so the UTC grid is the local one.
import type { Table } from "../../../shared/domain/snapshot.ts";
import { type Candidate, enumerateCandidates } from "../../../shared/engine/candidates.ts";

const MIN = 60_000;
export const ALTERNATIVE_WINDOW_MINUTES = 90;
export const GRID_MINUTES = 15;

export interface Alternative {
  readonly startAt: number;
  readonly offsetMinutes: number;
  readonly tableNumbers: readonly string[];
  readonly tableIds: readonly string[];
}

export interface AlternativesInput {
  readonly partySize: number;
  readonly startAt: number;
  /** end − start: the stay, kept when the booking moves. */
  readonly stayMs: number;
  readonly bufferBeforeMs: number;
  readonly bufferAfterMs: number;
  /** Start times before this are not offered. */
  readonly now: number;
  /** The usable tables (active, in service). */
  readonly tables: readonly Table[];
  readonly adjacency: readonly (readonly [string, string])[];
  readonly maxTables: number;
  /** Whether a stay [start, end) lies inside one service period. */
  readonly isOpen: (start: number, end: number) => boolean;
  /** Whether none of the tables is held by another booking over [start, end). */
  readonly isFree: (tableIds: readonly string[], start: number, end: number) => boolean;
  readonly limit?: number;
}

/** The grid times an alternative may start at, nearest first (the earlier of two equally near first), never
 * in the booking's own minute. In UTC, as the benchmark's days are: the SQL's rule for the night clocks go
 * back (each local time once) never applies. */
export function alternativeStarts(startAt: number, now: number): number[] {
  const base = Math.floor(startAt / (GRID_MINUTES * MIN)) * GRID_MINUTES * MIN;
  const starts: number[] = [];
  for (let k = -6; k <= 6; k++) {
    const t = base + k * GRID_MINUTES * MIN;
    if (
      Math.floor(t / MIN) !== Math.floor(startAt / MIN) &&
      Math.abs(t - startAt) <= ALTERNATIVE_WINDOW_MINUTES * MIN && t > now
    ) starts.push(t);
  }
  return starts.sort((a, b) => Math.abs(a - startAt) - Math.abs(b - startAt) || a - b);
}

// Code-point order, as the database (collation C) orders the table-number arrays.
const compareKeys = (a: readonly string[], b: readonly string[]) => {
  if (a.length !== b.length) return a.length - b.length;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
};

/** Every arrangement the rules allow for the party, best first, as private.seating_options ranks them. */
export function rankedOptions(
  input: Pick<AlternativesInput, "partySize" | "tables" | "adjacency" | "maxTables">,
): Candidate[] {
  const rank = (c: Candidate) => c.tables.length === 1 ? c.slack : 100 * c.tables.length + c.slack;
  return enumerateCandidates(input).sort((a, b) =>
    rank(a) - rank(b) || compareKeys(a.tables.map((t) => t.number), b.tables.map((t) => t.number))
  );
}

export function seatingAlternatives(input: AlternativesInput): Alternative[] {
  const limit = input.limit ?? 3;
  const options = rankedOptions(input);
  const found: Alternative[] = [];
  if (options.length === 0) return found;
  for (const start of alternativeStarts(input.startAt, input.now)) {
    if (found.length >= limit) break;
    if (!input.isOpen(start, start + input.stayMs)) continue;
    const from = start - input.bufferBeforeMs;
    const to = start + input.stayMs + input.bufferAfterMs;
    const choice = options.find((c) => input.isFree(c.tables.map((t) => t.id), from, to));
    if (!choice) continue;
    found.push({
      startAt: start,
      offsetMinutes: Math.round((start - input.startAt) / MIN),
      tableNumbers: choice.tables.map((t) => t.number),
      tableIds: choice.tables.map((t) => t.id),
    });
  }
  return found;
}
