// The exact fallback's model: which bookings may move, the arrangements each may take, and which tables
// the rest keep. A binary per (booking, arrangement); each booking takes exactly one; no table holds two
// bookings at once; moving a booking costs 1. Only the bookings whose windows chain into the new one's by
// overlapping (the affected period) are free: no other booking can make room for it. Solves start from a
// relaxation around the new booking's window and take the whole period only when its answer clashes
// outside it: most questions are settled by the bookings around the stay. Before the whole period, the
// fallback and the re-seating offers hold the bookings beyond a reach of the stay where they are (`pinned`).
import { fullyInView, type PlacedBooking, type Snapshot, type Table } from "../../domain/snapshot.ts";
import { overlaps, unexplainedHolds } from "../availability.ts";
import { appendTo } from "../multimap.ts";
import { searchCandidates } from "../candidates.ts";

export interface ExactItem {
  readonly id: string;
  readonly windowStart: number;
  readonly windowEnd: number;
  /** Each option is a list of table ids, an arrangement that obeys the planner's rules. */
  readonly options: readonly (readonly string[])[];
  /** The option the booking holds now; null for the new booking. */
  readonly current: number | null;
  /** Every arrangement the rules allow the booking, whatever holds the tables. */
  readonly rules: readonly (readonly string[])[];
}

export interface ExactProblem {
  /** The new booking. */
  readonly subject: ExactItem;
  /** The placed bookings that may move: in the affected period, and fully in the snapshot's view. */
  readonly movable: readonly ExactItem[];
}

/** The part of the problem a solve sees: the bookings present in `within`, clashes only inside it. */
export interface ExactModel {
  /** The new booking first, then the movable bookings present in `within`. */
  readonly items: readonly ExactItem[];
  readonly within: readonly [number, number];
}

export interface ModelOptions {
  /** The tables a booking may use, where that is not all of them (the benchmark's walk-in-only bar). */
  readonly tablesFor?: (bookingId: string) => readonly string[] | undefined;
  /**
   * Set to false when some booking's arrangements could not all be listed (a floor plan that joins so many
   * tables that the candidate search stopped): the model then proves nothing impossible.
   */
  readonly listing?: { complete: boolean };
  /**
   * Asked before each booking's arrangements are listed: true stops the build, which then answers null and sets
   * `stopped`. Listing again among a booking's open tables (a zone of tables that all join) takes up to a tenth
   * of a second a booking, so a busy evening in such a room could spend seconds here, past a function's CPU.
   */
  readonly budget?: { outOfTime: () => boolean; stopped: boolean };
}

interface Hold {
  readonly tableId: string;
  readonly start: number;
  readonly end: number;
}

/**
 * The problem, or null when the new booking has no arrangement that the fixed holds leave open, or when the
 * budget stopped the build.
 */
export function buildProblem(snapshot: Snapshot, options: ModelOptions = {}): ExactProblem | null {
  const placed = snapshot.placed ?? [];
  const free = affectedPeriod(snapshot, placed.filter((p) => !p.locked && fullyInView(snapshot, p)));
  const fixed = new Map<string, Hold[]>();
  const fix = (h: Hold) => appendTo(fixed, h.tableId, h);
  for (const p of placed) {
    if (free.has(p)) continue;
    for (const tableId of p.tableIds) fix({ tableId, start: p.windowStart, end: p.windowEnd });
  }
  // Holds no placed booking accounts for (blocks, bookings out of re-optimisation's reach) never move.
  for (const b of unexplainedHolds(snapshot.busy, placed)) fix(b);
  const open = (tableIds: readonly string[], start: number, end: number) =>
    tableIds.every((id) => (fixed.get(id) ?? []).every((h) => !overlaps(h.start, h.end, start, end)));
  // Many bookings share a party size and channel: list each kind's arrangements once.
  const arrangements = new Map<string, { ids: string[][]; complete: boolean }>();
  const listed = (partySize: number, tables: readonly Table[]) => {
    const kind = `${partySize}|${tables.map((t) => t.id).join()}`;
    let all = arrangements.get(kind);
    if (!all) {
      const found = searchCandidates({
        partySize,
        maxTables: snapshot.maxTables,
        tables,
        adjacency: snapshot.adjacency,
      });
      all = { ids: found.candidates.map((c) => c.tables.map((t) => t.id)), complete: found.complete };
      arrangements.set(kind, all);
    }
    return all;
  };
  const rulesFor = (id: string, partySize: number, start: number, end: number) => {
    if (options.budget?.outOfTime()) {
      options.budget.stopped = true;
      return null;
    }
    const tables = eligible(snapshot.tables, options.tablesFor?.(id));
    const all = listed(partySize, tables);
    if (all.complete) return all.ids;
    if (options.listing) options.listing.complete = false;
    // Too many to list them all (a zone of tables that all join): listed again among the tables the fixed
    // holds leave the booking, or the few listed could all be ruled out by them. Its rules are then these.
    return listed(partySize, tables.filter((t) => open([t.id], start, end))).ids;
  };

  const subjectRules = rulesFor(
    snapshot.bookingId,
    snapshot.partySize,
    snapshot.windowStart,
    snapshot.windowEnd,
  );
  if (!subjectRules) return null;
  const subjectOptions = subjectRules.filter((ids) => open(ids, snapshot.windowStart, snapshot.windowEnd));
  if (subjectOptions.length === 0) return null;
  const movable: ExactItem[] = [];
  for (const p of free) {
    const rules = rulesFor(p.id, p.partySize, p.windowStart, p.windowEnd);
    if (!rules) return null;
    const opts = rules.filter((ids) => open(ids, p.windowStart, p.windowEnd));
    const key = setKey(p.tableIds);
    let current = p.tableIds.length === 0
      ? -1
      : opts.findIndex((ids) =>
        ids.length === p.tableIds.length && ids.includes(p.tableIds[0]) && setKey(ids) === key
      );
    // Staying put is always allowed, even on tables the rules would no longer offer (edited since).
    if (current < 0) current = opts.push([...p.tableIds]) - 1;
    movable.push({
      id: p.id,
      windowStart: p.windowStart,
      windowEnd: p.windowEnd,
      options: opts,
      current,
      rules,
    });
  }
  return {
    subject: {
      id: snapshot.bookingId,
      windowStart: snapshot.windowStart,
      windowEnd: snapshot.windowEnd,
      options: subjectOptions,
      current: null,
      rules: subjectRules,
    },
    movable,
  };
}

/**
 * A relaxation of the problem: only the movable bookings present in `within`, and clashes only inside it.
 * No solution here means none at all; a solution that clashes nowhere else (see `clashFree`) is one for
 * the whole problem, and as few moves as any.
 */
export function restrict(problem: ExactProblem, within: readonly [number, number]): ExactModel {
  const present = problem.movable.filter((m) => overlaps(m.windowStart, m.windowEnd, within[0], within[1]));
  return { items: [problem.subject, ...present], within };
}

/** Whether the model's choice, with every other movable booking where it is, double-books no table. */
export function clashFree(problem: ExactProblem, model: ExactModel, choice: readonly number[]): boolean {
  const chosen = new Map(model.items.map((item, i) => [item, choice[i]]));
  const byTable = new Map<string, { start: number; end: number }[]>();
  for (const item of [problem.subject, ...problem.movable]) {
    const k = chosen.get(item) ?? item.current!;
    for (const id of item.options[k]) {
      appendTo(byTable, id, { start: item.windowStart, end: item.windowEnd });
    }
  }
  for (const holds of byTable.values()) {
    holds.sort((a, b) => a.start - b.start);
    for (let i = 1; i < holds.length; i++) if (holds[i].start < holds[i - 1].end) return false;
  }
  return true;
}

/** The whole problem as a model: every movable booking, clashes wherever they are. */
export function whole(problem: ExactProblem): ExactModel {
  const items = [problem.subject, ...problem.movable];
  return restrict(problem, [
    Math.min(...items.map((i) => i.windowStart)),
    Math.max(...items.map((i) => i.windowEnd)),
  ]);
}

/**
 * The whole problem with the movable bookings farther than `reach` (ms) from the new booking's window held
 * where they are: a much smaller model in a full room. A restriction, not a relaxation: every solution is
 * one for the whole problem (it clashes nowhere), but "none" here proves nothing, nor are its fewest moves
 * the whole problem's. Null when it would hold no booking (then it is the whole problem).
 */
export function pinned(problem: ExactProblem, reach: number): ExactModel | null {
  const { windowStart, windowEnd } = problem.subject;
  const all = whole(problem);
  const far = (item: ExactItem) =>
    !overlaps(item.windowStart, item.windowEnd, windowStart - reach, windowEnd + reach);
  if (!problem.movable.some(far)) return null;
  return {
    ...all,
    items: all.items.map((item) =>
      item === problem.subject || !far(item)
        ? item
        : { ...item, options: [item.options[item.current!]], current: 0 }
    ),
  };
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
