// What the benchmark needs to know about a floor plan for one request: which tables its channel may use,
// every arrangement that obeys the engine's rules (the engine's own candidates with every table free), and
// which tables are held when.
import type { Move } from "../../../shared/domain/move.ts";
import type { PlacedBooking, Snapshot, Table } from "../../../shared/domain/snapshot.ts";
import type { ReoptimizeOptions } from "../../../shared/engine/reoptimize.ts";
import { type Candidate, enumerateCandidates } from "../../../shared/engine/candidates.ts";
import { type Day, type Request, turnMinutes } from "./demand.ts";
import type { Layout } from "./layouts.ts";
import { ruleBroken } from "./safety.ts";

export function channelTables(layout: Layout, walkIn: boolean): Table[] {
  return walkIn ? [...layout.tables] : layout.tables.filter((t) => !layout.walkInOnly.has(t.id));
}

/** As the pipeline's private.snapshot_horizon(): how far around a request the snapshot shows other holds. */
const SNAPSHOT_HORIZON_MS = 6 * 3_600_000;

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
  private readonly byId: ReadonlyMap<string, Request>;
  /**
   * What a policy's seatings broke at the moment they were made (seatChecked, seatWithMoves): the final
   * seating is checked on its own (safety.ts), but a breach a later move repaired would not show there.
   */
  readonly stepViolations: string[] = [];

  constructor(private readonly day: Day) {
    for (const t of day.layout.tables) this.holds.set(t.id, []);
    this.byId = new Map(day.requests.map((r) => [r.id, r]));
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

  /** Seats a policy's choice, recording a rule it breaks or a table already held then. */
  seatChecked(request: number, tableIds: readonly string[]): void {
    const r = this.day.requests[request];
    const broken = ruleBroken(this.day, r, tableIds);
    if (broken) this.stepViolations.push(`request ${request} when seated: ${broken}`);
    if (!this.isFree(tableIds, r.windowStart, r.windowEnd)) {
      this.stepViolations.push(`request ${request} when seated: a table already held then`);
    }
    this.seat(request, tableIds);
  }

  unseat(request: number): void {
    for (const id of this.tablesOf.get(request) ?? []) {
      this.holds.set(id, this.holds.get(id)!.filter((h) => h.request !== request));
    }
    this.tablesOf.delete(request);
  }

  /** The engine's snapshot for a request: other bookings' tables within the pipeline's horizon. */
  snapshotFor(r: Request): Snapshot {
    const busy = [];
    for (const [tableId, holds] of this.holds) {
      for (const h of holds) {
        if (h.end > r.windowStart - SNAPSHOT_HORIZON_MS && h.start < r.windowEnd + SNAPSHOT_HORIZON_MS) {
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
      horizonMs: SNAPSHOT_HORIZON_MS,
      minStayMinutes: minStayMinutes(this.day.layout),
      tables: channelTables(this.day.layout, r.walkIn),
      adjacency: this.day.layout.adjacency.map(([a, b]) => [a, b] as [string, string]),
      busy,
    };
  }

  /**
   * What the re-optimiser sees when `request` comes in: the request's snapshot over every table, with every
   * booking seated so far as placed (locked when its party is seated or on its way), and which tables each
   * booking's channel may use (a booking made ahead never sits at a walk-in-only table).
   */
  reoptimizationInput(request: Request): {
    snapshot: Snapshot;
    tablesFor: ReoptimizeOptions["tablesFor"];
  } {
    const { layout } = this.day;
    const placed: PlacedBooking[] = [...this.tablesOf].map(([i, tableIds]) => {
      const a = this.day.requests[i];
      const { id, partySize, windowStart, windowEnd } = a;
      return { id, partySize, windowStart, windowEnd, tableIds, locked: isLocked(a, request) };
    });
    const bookingTables = channelTables(layout, false).map((t) => t.id);
    return {
      snapshot: { ...this.snapshotFor(request), tables: [...layout.tables], placed },
      tablesFor: (
        id,
      ) => (layout.walkInOnly.size > 0 && !this.byId.get(id)!.walkIn ? bookingTables : undefined),
    };
  }

  /** Seat `request` after moving other bookings as the re-optimiser planned. */
  seatWithMoves(request: Request, tableIds: readonly string[], moves: readonly Move[]): void {
    for (const m of moves) this.unseat(this.byId.get(m.bookingId)!.index);
    for (const m of moves) this.seatChecked(this.byId.get(m.bookingId)!.index, m.toTableIds);
    this.seatChecked(request.index, tableIds);
  }

  /** Final tables per request, in request order; null when refused. */
  result(): (readonly string[] | null)[] {
    return this.day.requests.map((r) => this.tablesOf.get(r.index) ?? null);
  }
}
