// The exact fallback's model: which bookings may move, the arrangements each may take, and which tables
// the rest keep. A binary per (booking, arrangement); each booking takes exactly one; no table holds two
// bookings at once; moving a booking costs 1. Only the bookings whose windows chain into the new one's by
// overlapping (the affected period) are free: no other booking can make room for it.
import type { PlacedBooking, Snapshot, Table } from "../../domain/snapshot.ts";
import { overlaps } from "../availability.ts";
import { enumerateCandidates } from "../candidates.ts";

export interface ExactItem {
  readonly id: string;
  readonly windowStart: number;
  readonly windowEnd: number;
  /** Each option is a list of table ids, an arrangement that obeys the planner's rules. */
  readonly options: readonly (readonly string[])[];
  /** The option the booking holds now; null for the new booking. */
  readonly current: number | null;
}

export interface ExactModel {
  /** The new booking first, then the placed bookings that may move. */
  readonly items: readonly ExactItem[];
  /** Bookings that could move but keep their tables: outside the affected period, or not fully in view. */
  readonly keptOutside: number;
}

export interface ModelOptions {
  /** The tables a booking may use, where that is not all of them (the benchmark's walk-in-only bar). */
  readonly tablesFor?: (bookingId: string) => readonly string[] | undefined;
}

interface Hold {
  readonly tableId: string;
  readonly start: number;
  readonly end: number;
}

/** The model, or null when the new booking has no arrangement that the fixed holds leave open. */
export function buildModel(snapshot: Snapshot, options: ModelOptions = {}): ExactModel | null {
  const placed = snapshot.placed ?? [];
  const horizon = snapshot.horizonMs ?? Infinity;
  // A booking may only move where the snapshot shows every hold that could clash with it.
  const inView = (p: PlacedBooking) =>
    p.windowStart >= snapshot.windowStart - horizon && p.windowEnd <= snapshot.windowEnd + horizon;
  const candidates = placed.filter((p) => !p.locked && inView(p));
  const free = affectedPeriod(snapshot, candidates);
  const fixed = new Map<string, Hold[]>();
  const fix = (h: Hold) => fixed.set(h.tableId, [...(fixed.get(h.tableId) ?? []), h]);
  for (const p of placed) {
    if (free.has(p)) continue;
    for (const tableId of p.tableIds) fix({ tableId, start: p.windowStart, end: p.windowEnd });
  }
  // Holds no placed booking accounts for (blocks, bookings out of re-optimisation's reach) never move.
  for (const b of snapshot.busy) {
    const explained = placed.some((p) =>
      p.tableIds.includes(b.tableId) && overlaps(p.windowStart, p.windowEnd, b.start, b.end)
    );
    if (!explained) fix(b);
  }
  const open = (tableIds: readonly string[], start: number, end: number) =>
    tableIds.every((id) => (fixed.get(id) ?? []).every((h) => !overlaps(h.start, h.end, start, end)));
  // Many bookings share a party size and channel: list each kind's arrangements once.
  const arrangements = new Map<string, string[][]>();
  const optionsFor = (id: string, partySize: number, start: number, end: number) => {
    const tables = eligible(snapshot.tables, options.tablesFor?.(id));
    const kind = `${partySize}|${tables.map((t) => t.id).join()}`;
    let all = arrangements.get(kind);
    if (!all) {
      all = enumerateCandidates({
        partySize,
        maxTables: snapshot.maxTables,
        tables,
        adjacency: snapshot.adjacency,
      }).map((c) => c.tables.map((t) => t.id));
      arrangements.set(kind, all);
    }
    return all.filter((ids) => open(ids, start, end));
  };

  const newOptions = optionsFor(
    snapshot.bookingId,
    snapshot.partySize,
    snapshot.windowStart,
    snapshot.windowEnd,
  );
  if (newOptions.length === 0) return null;
  const items: ExactItem[] = [{
    id: snapshot.bookingId,
    windowStart: snapshot.windowStart,
    windowEnd: snapshot.windowEnd,
    options: newOptions,
    current: null,
  }];
  for (const p of free) {
    const opts = optionsFor(p.id, p.partySize, p.windowStart, p.windowEnd);
    const key = setKey(p.tableIds);
    let current = opts.findIndex((ids) => setKey(ids) === key);
    // Staying put is always allowed, even on tables the rules would no longer offer (edited since).
    if (current < 0) current = opts.push([...p.tableIds]) - 1;
    items.push({ id: p.id, windowStart: p.windowStart, windowEnd: p.windowEnd, options: opts, current });
  }
  return { items, keptOutside: placed.filter((p) => !p.locked).length - free.size };
}

/** The movable bookings whose windows chain into the new booking's window by overlapping. */
function affectedPeriod(snapshot: Snapshot, movable: readonly PlacedBooking[]): Set<PlacedBooking> {
  const sorted = [...movable].sort((a, b) => a.windowStart - b.windowStart);
  const free = new Set<PlacedBooking>();
  let [from, to] = [snapshot.windowStart, snapshot.windowEnd];
  // Windows are intervals: the chain is one span, grown until no further window touches it.
  for (let grew = true; grew;) {
    grew = false;
    for (const p of sorted) {
      if (free.has(p) || !overlaps(p.windowStart, p.windowEnd, from, to)) continue;
      free.add(p);
      from = Math.min(from, p.windowStart);
      to = Math.max(to, p.windowEnd);
      grew = true;
    }
  }
  return free;
}

function eligible(tables: readonly Table[], ids: readonly string[] | undefined): Table[] {
  return ids ? tables.filter((t) => ids.includes(t.id)) : [...tables];
}

function setKey(ids: readonly string[]): string {
  return [...ids].sort().join(",");
}
