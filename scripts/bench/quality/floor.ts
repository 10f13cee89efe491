// What the benchmark needs to know about a floor plan for one request: which tables its channel may use,
// every arrangement that obeys the engine's rules (the engine's own candidates with every table free), and
// which tables are held when.
import type { PlacedBooking, Snapshot, Table } from "../../../shared/domain/snapshot.ts";
import type { Move } from "../../../shared/domain/move.ts";
import type { DayState, NewBooking } from "../../../shared/engine/reoptimize.ts";
import { type Candidate, enumerateCandidates } from "../../../shared/engine/candidates.ts";
import { type Day, type Request, turnMinutes } from "./demand.ts";
import type { Layout } from "./layouts.ts";

export function channelTables(layout: Layout, walkIn: boolean): Table[] {
  return walkIn ? [...layout.tables] : layout.tables.filter((t) => !layout.walkInOnly.has(t.id));
}

/** As the pipeline's private.is_locked: a booking starting within this many minutes keeps its tables. */
export const LOCK_AHEAD_MINUTES = 30;

/** Whether `booking` may no longer move when `request` is made: its party is seated or on its way. */
export function isLocked(booking: Request, request: Request): boolean {
  return booking.startAt <= request.bookedAt + LOCK_AHEAD_MINUTES * 60_000;
}

/** The shortest stay of the layout's turn-time profile, as the pipeline's snapshot reports it. */
export function minStayMinutes(layout: Layout): number {
  return turnMinutes(layout.turnProfile, 1) + layout.bufferAfterMinutes;
}

const cache = new WeakMap<Layout, Map<string, Candidate[]>>();

/** The arrangements a request may take: yardsticks and policies obey exactly the same rules. */
export function arrangements(layout: Layout, request: Pick<Request, "partySize" | "walkIn">): Candidate[] {
  let byKey = cache.get(layout);
  if (!byKey) cache.set(layout, byKey = new Map());
  const key = `${request.partySize}|${request.walkIn}`;
  let found = byKey.get(key);
  if (!found) {
    found = enumerateCandidates({
      partySize: request.partySize,
      maxTables: layout.maxTables,
      tables: channelTables(layout, request.walkIn),
      adjacency: layout.adjacency,
    });
    byKey.set(key, found);
  }
  return found;
}

interface Hold {
  readonly request: number;
  readonly start: number;
  readonly end: number;
}

/** Which request holds which table when: the state an online policy has built so far. */
export class Occupancy {
  private readonly holds = new Map<string, Hold[]>();
  readonly tablesOf = new Map<number, readonly string[]>();

  constructor(private readonly day: Day) {
    for (const t of day.layout.tables) this.holds.set(t.id, []);
  }

  isFree(tableIds: readonly string[], start: number, end: number, ignore?: number): boolean {
    return tableIds.every((id) =>
      this.holds.get(id)!.every((h) => h.request === ignore || h.end <= start || end <= h.start)
    );
  }

  seat(request: number, tableIds: readonly string[]): void {
    const r = this.day.requests[request];
    for (const id of tableIds) this.holds.get(id)!.push({ request, start: r.windowStart, end: r.windowEnd });
    this.tablesOf.set(request, tableIds);
  }

  unseat(request: number): void {
    for (const id of this.tablesOf.get(request) ?? []) {
      this.holds.set(id, this.holds.get(id)!.filter((h) => h.request !== request));
    }
    this.tablesOf.delete(request);
  }

  /** The engine's snapshot for a request: other bookings' tables within six hours, as the pipeline reads. */
  snapshotFor(r: Request): Snapshot {
    const horizon = 6 * 3_600_000;
    const busy = [];
    for (const [tableId, holds] of this.holds) {
      for (const h of holds) {
        if (h.end > r.windowStart - horizon && h.start < r.windowEnd + horizon) {
          busy.push({ tableId, start: h.start, end: h.end });
        }
      }
    }
    busy.sort((a, b) => a.start - b.start || a.tableId.localeCompare(b.tableId));
    return {
      bookingId: r.id,
      restaurantId: "d0000000-0000-4000-8000-000000000001",
      partySize: r.partySize,
      startAt: r.startAt,
      timezone: "UTC",
      windowStart: r.windowStart,
      windowEnd: r.windowEnd,
      maxTables: this.day.layout.maxTables,
      minStayMinutes: minStayMinutes(this.day.layout),
      tables: channelTables(this.day.layout, r.walkIn),
      adjacency: this.day.layout.adjacency.map(([a, b]) => [a, b] as [string, string]),
      busy,
    };
  }

  /**
   * What the re-optimiser sees when `request` comes in: every booking seated so far (locked when its party is
   * seated or on its way), and the request, each limited to the tables its channel may use.
   */
  reoptimizationInput(request: Request): [DayState, NewBooking] {
    const { layout } = this.day;
    const bookingTables = channelTables(layout, false).map((t) => t.id);
    const eligible = (a: Request) => (layout.walkInOnly.size > 0 && !a.walkIn ? bookingTables : undefined);
    const bookings: PlacedBooking[] = [...this.tablesOf].map(([i, tableIds]) => {
      const a = this.day.requests[i];
      const { id, partySize, windowStart, windowEnd } = a;
      return {
        id,
        partySize,
        windowStart,
        windowEnd,
        tableIds,
        locked: isLocked(a, request),
        eligibleTableIds: eligible(a),
      };
    });
    const state: DayState = {
      restaurantId: "d0000000-0000-4000-8000-000000000001",
      timezone: "UTC",
      tables: layout.tables,
      adjacency: layout.adjacency,
      maxTables: layout.maxTables,
      minStayMinutes: minStayMinutes(layout),
      bookings,
    };
    return [state, { ...request, eligibleTableIds: eligible(request) }];
  }

  /** Seat `request` after moving other bookings as the re-optimiser planned. */
  seatWithMoves(request: Request, tableIds: readonly string[], moves: readonly Move[]): void {
    const index = new Map(this.day.requests.map((a) => [a.id, a.index]));
    for (const m of moves) this.unseat(index.get(m.bookingId)!);
    for (const m of moves) this.seat(index.get(m.bookingId)!, m.toTableIds);
    this.seat(request.index, tableIds);
  }

  /** Final tables per request, in request order; null when refused. */
  result(): (readonly string[] | null)[] {
    return this.day.requests.map((r) => this.tablesOf.get(r.index) ?? null);
  }
}
