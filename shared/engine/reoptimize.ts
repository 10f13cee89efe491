// Re-optimisation: when no free table or combination seats a new booking, move a few not-yet-seated
// bookings to other tables so that it fits (pooling, Thompson & Kwortnik). The search tries one move, then
// two, and so on, so it never moves more bookings than it must; locked bookings (seated, or fixed by staff)
// never move, and every booking, moved or new, gets tables that obey the same rules the planner enforces.
import type { Move } from "../domain/move.ts";
import { fullyInView, type PlacedBooking, type Snapshot, type Table } from "../domain/snapshot.ts";
import { overlaps, unexplainedHolds } from "./availability.ts";
import { type Candidate, enumerateCandidates, searchCandidates } from "./candidates.ts";
import { type Plan, planAssignment } from "./planner.ts";
import { getStrategy } from "./strategies/registry.ts";
import { byNumericText } from "./numeric-order.ts";

export interface ReoptimizeOptions {
  readonly strategy: string;
  /** Most bookings one new booking may move; DEFAULT_MAX_MOVES when absent, none when 0. */
  readonly maxMoves?: number;
  /** Most arrangements the search may try, so the cost per booking stays bounded. */
  readonly maxExplored?: number;
  /**
   * performance.now() past which the search gives up as it does at maxExplored, for a caller with a wall-time
   * budget: in a large room 4,000 arrangements can take most of a second.
   */
  readonly deadline?: number;
  /**
   * The snapshot's tables a booking may use, where that is not all of them (the quality benchmark's
   * walk-in-only tables); every table when absent, as in the pipeline.
   */
  readonly tablesFor?: (bookingId: string) => readonly string[] | undefined;
}

/**
 * Most bookings one new booking may move, by default. The quality benchmark's trade: five moves recover
 * nearly every booking an exact repack would seat while moving fewer than 0.2 bookings per accepted one.
 */
export const DEFAULT_MAX_MOVES = 5;

interface Subject {
  readonly id: string;
  readonly partySize: number;
  readonly startAt: number;
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly eligible: readonly Table[];
}

class SearchLimit extends Error {}

/**
 * The pipeline's plan for a snapshot: the strategy's choice among free tables, or, when nothing is free and
 * the snapshot lists the placed bookings (re-optimisation is on for the restaurant), a plan that first moves
 * up to `maxMoves` of them. `moves` is empty unless bookings must move; `explored` counts the arrangements
 * the search tried (0 when the plain plan decided).
 */
export function planWithMoves(
  snapshot: Snapshot,
  options: ReoptimizeOptions,
): { plan: Plan; moves: Move[]; explored: number } {
  const own = options.tablesFor?.(snapshot.bookingId);
  const plan = planAssignment(
    own ? { ...snapshot, tables: eligibleTables(snapshot, own) } : snapshot,
    options.strategy,
  );
  const maxMoves = options.maxMoves ?? DEFAULT_MAX_MOVES;
  // Moving others cannot make room for a party not even an empty room seats.
  if (plan.decision === "assign" || plan.emptyRoomCannotSeat || !snapshot.placed || maxMoves < 1) {
    return { plan, moves: [], explored: 0 };
  }
  const search = new Search(snapshot, options);
  const subject = search.subjectOf(snapshot.bookingId, snapshot);
  try {
    for (let budget = 1; budget <= maxMoves; budget++) {
      const moved = search.insert(subject, budget, new Set([subject.id]));
      if (moved) {
        const tables = search.placement.get(subject.id)!.map((id) =>
          snapshot.tables.find((t) => t.id === id)!
        );
        return {
          plan: {
            decision: "assign",
            strategy: plan.strategy,
            tableIds: tables.map((t) => t.id),
            tableNumbers: tables.map((t) => t.number),
            score: 0,
            slack: tables.reduce((n, t) => n + t.capacity, 0) - snapshot.partySize,
            candidates: 0,
          },
          moves: search.movesOf(moved),
          explored: search.explored,
        };
      }
    }
  } catch (error) {
    if (!(error instanceof SearchLimit)) throw error;
  }
  return {
    plan: {
      ...plan,
      reason: `${plan.reason}; moving up to ${maxMoves} unlocked bookings does not make room either`,
    },
    moves: [],
    explored: search.explored,
  };
}

function eligibleTables(snapshot: Snapshot, ids: readonly string[] | undefined): Table[] {
  return ids ? snapshot.tables.filter((t) => ids.includes(t.id)) : snapshot.tables;
}

interface Hold {
  readonly bookingId: string;
  readonly start: number;
  readonly end: number;
}

/**
 * The holds around the new booking, changed in place while searching and rolled back through a journal:
 * the placed bookings' tables, and as locked holds every busy interval no placed booking accounts for (a
 * block, a hold).
 */
class Search {
  readonly placement = new Map<string, readonly string[]>();
  explored = 0;
  private readonly holds = new Map<string, Hold[]>();
  /** What changed, newest last: a hold (released null) or a release with the tables it freed. */
  private readonly journal: { bookingId: string; released: readonly string[] | null }[] = [];
  private readonly bookings: Map<string, PlacedBooking>;
  private readonly arrangements = new Map<string, { candidates: Candidate[]; complete: boolean }>();
  private readonly strategy;
  private readonly maxExplored: number;

  constructor(private readonly snapshot: Snapshot, private readonly options: ReoptimizeOptions) {
    this.strategy = getStrategy(options.strategy);
    this.maxExplored = options.maxExplored ?? 4000;
    const placed = snapshot.placed ?? [];
    const unexplained: PlacedBooking[] = unexplainedHolds(snapshot.busy, placed)
      .map((b, i) => ({
        id: `busy-${i}`,
        partySize: 1,
        windowStart: b.start,
        windowEnd: b.end,
        tableIds: [b.tableId],
        locked: true,
      }));
    // As in the exact model: a booking partly outside the snapshot's view may clash, where it moves, with
    // holds the snapshot does not show, and the commit would refuse the move on every retry.
    const bookings = [
      ...placed.map((p) => (p.locked || fullyInView(snapshot, p) ? p : { ...p, locked: true })),
      ...unexplained,
    ];
    this.bookings = new Map(bookings.map((b) => [b.id, b]));
    for (const t of snapshot.tables) this.holds.set(t.id, []);
    for (const b of bookings) this.hold(b.id, b.tableIds, b.windowStart, b.windowEnd);
    this.journal.length = 0;
  }

  /** A booking as the search plans it: its party, its window and the tables it may use. */
  subjectOf(
    id: string,
    b: { partySize: number; startAt?: number; windowStart: number; windowEnd: number },
  ): Subject {
    const eligible = eligibleTables(this.snapshot, this.options.tablesFor?.(id));
    return {
      id,
      partySize: b.partySize,
      startAt: b.startAt ?? b.windowStart,
      windowStart: b.windowStart,
      windowEnd: b.windowEnd,
      eligible,
    };
  }

  private snapshotFor(s: Subject): Snapshot {
    // Each subject sees what the database would have shown it: holds within the snapshot's horizon.
    const horizon = this.snapshot.horizonMs ?? Infinity;
    const busy = [];
    for (const [tableId, holds] of this.holds) {
      for (const h of holds) {
        if (
          h.bookingId !== s.id &&
          overlaps(h.start, h.end, s.windowStart - horizon, s.windowEnd + horizon)
        ) {
          busy.push({ tableId, start: h.start, end: h.end });
        }
      }
    }
    return {
      bookingId: s.id,
      restaurantId: this.snapshot.restaurantId,
      partySize: s.partySize,
      startAt: s.startAt,
      timezone: this.snapshot.timezone,
      windowStart: s.windowStart,
      windowEnd: s.windowEnd,
      maxTables: this.snapshot.maxTables,
      horizonMs: this.snapshot.horizonMs,
      minStayMinutes: this.snapshot.minStayMinutes,
      tables: [...s.eligible],
      adjacency: this.snapshot.adjacency,
      busy,
    };
  }

  /**
   * Seat `s` within `budget` further moves, displacing unlocked bookings not moved yet. On success the
   * holds show the new plan and the displaced bookings' ids are returned; on failure nothing changed.
   */
  insert(s: Subject, budget: number, moved: Set<string>): string[] | null {
    const free = this.place(s);
    this.count();
    if (free) {
      this.hold(s.id, free, s.windowStart, s.windowEnd);
      return [];
    }
    if (budget === 0) return null;
    for (const { candidate, blockers } of this.displacing(s, budget, moved)) {
      this.count();
      const mark = this.journal.length;
      for (const id of blockers) {
        this.release(id);
        moved.add(id);
      }
      this.hold(s.id, candidate.tables.map((t) => t.id), s.windowStart, s.windowEnd);
      const displaced = this.reseat(blockers, budget - blockers.length, moved);
      if (displaced) return displaced;
      this.rollback(mark, moved);
    }
    return null;
  }

  /** The strategy's choice among the arrangements free for `s` right now, or null when none is. */
  private place(s: Subject): readonly string[] | null {
    const free = s.eligible.filter((t) =>
      this.holds.get(t.id)!.every((h) => !overlaps(h.start, h.end, s.windowStart, s.windowEnd))
    );
    const candidates = enumerateCandidates({
      partySize: s.partySize,
      maxTables: this.snapshot.maxTables,
      tables: free,
      adjacency: this.snapshot.adjacency,
    });
    if (candidates.length === 0) return null;
    // Only a real choice needs the strategy, and the strategy needs the neighbouring bookings.
    const [best] = candidates.length === 1
      ? candidates
      : this.strategy.rank(candidates, this.snapshotFor(s), free)
        .map((r) => r.candidate);
    return best.tables.map((t) => t.id);
  }

  /** Seat each displaced booking again, sharing what is left of the budget. */
  private reseat(ids: readonly string[], budget: number, moved: Set<string>): string[] | null {
    const displaced: string[] = [];
    let left = budget;
    for (const id of ids) {
      const further = this.insert(this.subjectOf(id, this.bookings.get(id)!), left, moved);
      if (!further) return null;
      displaced.push(id, ...further);
      left -= further.length;
    }
    return displaced;
  }

  movesOf(ids: readonly string[]): Move[] {
    return [...ids].sort().map((id) => ({
      bookingId: id,
      fromTableIds: [...this.bookings.get(id)!.tableIds],
      toTableIds: [...this.placement.get(id)!],
    })).filter((m) => m.fromTableIds.join() !== m.toTableIds.join());
  }

  /** Arrangements for `s` that only unlocked, unmoved bookings block, fewest blockers first. */
  private displacing(s: Subject, budget: number, moved: ReadonlySet<string>) {
    const options = [];
    for (const candidate of this.arrangementsFor(s)) {
      const blockers = new Set<string>();
      let blocked = false;
      for (const t of candidate.tables) {
        for (const h of this.holds.get(t.id)!) {
          if (!overlaps(h.start, h.end, s.windowStart, s.windowEnd)) continue;
          const b = this.bookings.get(h.bookingId);
          if (!b || b.locked || moved.has(b.id)) blocked = true;
          blockers.add(h.bookingId);
        }
      }
      if (!blocked && blockers.size > 0 && blockers.size <= budget) {
        options.push({ candidate, blockers: [...blockers].sort() });
      }
    }
    return options.sort((a, b) =>
      a.blockers.length - b.blockers.length || a.candidate.slack - b.candidate.slack ||
      a.candidate.tables.length - b.candidate.tables.length ||
      byNumericText(a.candidate.key, b.candidate.key)
    );
  }

  /** Every arrangement that obeys the rules for this party, whatever is busy. */
  private arrangementsFor(s: Subject): Candidate[] {
    const all = this.listed(s.partySize, s.eligible);
    if (all.complete) return all.candidates;
    // Too many to list them all (a zone of tables that all join): listed again without the tables a booking
    // that cannot move holds during the stay, or the few listed could all be blocked by them.
    const movable = s.eligible.filter((t) =>
      this.holds.get(t.id)!.every((h) => {
        const b = this.bookings.get(h.bookingId);
        return !overlaps(h.start, h.end, s.windowStart, s.windowEnd) || (b !== undefined && !b.locked);
      })
    );
    return this.listed(s.partySize, movable).candidates;
  }

  private listed(partySize: number, tables: readonly Table[]) {
    const key = `${partySize}|${tables.map((t) => t.id).join(",")}`;
    let found = this.arrangements.get(key);
    if (!found) {
      found = searchCandidates({
        partySize,
        maxTables: this.snapshot.maxTables,
        tables,
        adjacency: this.snapshot.adjacency,
      });
      this.arrangements.set(key, found);
    }
    return found;
  }

  private count(): void {
    const deadline = this.options.deadline;
    if (++this.explored > this.maxExplored || (deadline !== undefined && performance.now() > deadline)) {
      throw new SearchLimit();
    }
  }

  private hold(bookingId: string, tableIds: readonly string[], start: number, end: number): void {
    for (const id of tableIds) this.holds.get(id)?.push({ bookingId, start, end });
    this.placement.set(bookingId, tableIds);
    this.journal.push({ bookingId, released: null });
  }

  private release(bookingId: string): void {
    const tableIds = this.placement.get(bookingId) ?? [];
    for (const id of tableIds) {
      const holds = this.holds.get(id);
      if (holds) this.holds.set(id, holds.filter((h) => h.bookingId !== bookingId));
    }
    this.placement.delete(bookingId);
    this.journal.push({ bookingId, released: tableIds });
  }

  /** Undo every hold and release since `mark`; a booking released since then is no longer moved. */
  private rollback(mark: number, moved: Set<string>): void {
    while (this.journal.length > mark) {
      const { bookingId, released } = this.journal.pop()!;
      if (released) {
        const { start, end } = this.windowOf(bookingId);
        for (const id of released) this.holds.get(id)?.push({ bookingId, start, end });
        this.placement.set(bookingId, released);
        moved.delete(bookingId);
      } else {
        for (const id of this.placement.get(bookingId) ?? []) {
          const holds = this.holds.get(id);
          if (holds) this.holds.set(id, holds.filter((h) => h.bookingId !== bookingId));
        }
        this.placement.delete(bookingId);
      }
    }
  }

  private windowOf(bookingId: string): { start: number; end: number } {
    const b = this.bookings.get(bookingId)!;
    return { start: b.windowStart, end: b.windowEnd };
  }
}
