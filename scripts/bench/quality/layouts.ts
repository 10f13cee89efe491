// The benchmark's floor plans (reference notes, benchmark suite E.1). Tables are numbered in floor order,
// sizes interleaved as they stand in a room, because the legacy planner picks in table-number order.
import type { Table } from "../../../shared/domain/snapshot.ts";

export type TurnProfile = "casual" | "fine";

export interface Layout {
  readonly id: string;
  readonly name: string;
  readonly tables: readonly Table[];
  readonly adjacency: readonly (readonly [string, string])[];
  /** Most tables one combination may join. */
  readonly maxTables: number;
  readonly bufferAfterMinutes: number;
  readonly turnProfile: TurnProfile;
  /** Tables only walk-ins may take (a bar), like the channel rules of commercial systems. */
  readonly walkInOnly: ReadonlySet<string>;
  /** Added after the strategy was tuned: its results are out of sample in floor plan, not only in seed. */
  readonly unseen?: boolean;
}

interface TableSpec {
  number: string;
  capacity: number;
  min?: number;
  zone?: string;
  movable?: boolean;
}

const hex = (n: number) => n.toString(16).padStart(12, "0");

class FloorPlan {
  readonly tables: Table[] = [];
  readonly adjacency: [string, string][] = [];
  readonly walkInOnly = new Set<string>();
  private readonly zones = new Map<string, string>();

  constructor(private readonly prefix: number, private readonly anyPartyUpTo = 4) {}

  add(spec: TableSpec): this {
    const zone = spec.zone ?? "main";
    if (!this.zones.has(zone)) this.zones.set(zone, `${this.uuid(0xa)}${hex(this.zones.size + 1)}`);
    this.tables.push({
      id: `${this.uuid(0xb)}${hex(this.tables.length + 1)}`,
      number: spec.number,
      zoneId: this.zones.get(zone)!,
      capacity: spec.capacity,
      // Default minimum is half the seats, rounded up; in a casual room a 4-top seats anyone.
      minPartySize: spec.min ?? (spec.capacity <= this.anyPartyUpTo ? 1 : Math.ceil(spec.capacity / 2)),
      maxPartySize: spec.capacity,
      movable: spec.movable ?? true,
    });
    return this;
  }

  /** Each consecutive pair in `numbers` can be pushed together. */
  chain(...numbers: string[]): this {
    for (let i = 1; i < numbers.length; i++) {
      this.adjacency.push([this.id(numbers[i - 1]), this.id(numbers[i])]);
    }
    return this;
  }

  /** The parts a Layout keeps. */
  parts() {
    return { tables: this.tables, adjacency: this.adjacency, walkInOnly: this.walkInOnly };
  }

  walkInsOnly(...numbers: string[]): this {
    for (const n of numbers) this.walkInOnly.add(this.id(n));
    return this;
  }

  private id(number: string): string {
    const t = this.tables.find((t) => t.number === number);
    if (!t) throw new Error(`no table ${number}`);
    return t.id;
  }

  private uuid(kind: number): string {
    return `${this.prefix.toString(16).padStart(8, "0")}-0000-4000-8${kind.toString(16)}00-`;
  }
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String(from + i));

/** ~40 seats: a banquette of ten 2-tops any run of which can be joined, five 4-tops, two pairs of them. */
function bistro(): Layout {
  const p = new FloorPlan(1);
  const sizes = [4, 2, 2, 2, 4, 2, 2, 4, 2, 2, 4, 2, 2, 4, 2];
  sizes.forEach((capacity, i) => p.add({ number: String(i + 1), capacity }));
  const twos = sizes.flatMap((c, i) => (c === 2 ? [String(i + 1)] : []));
  p.chain(...twos).chain("1", "5").chain("8", "11");
  return {
    id: "bistro-40",
    name: "Bistro, 40 seats, chainable 2-tops",
    ...p.parts(),
    maxTables: 4,
    bufferAfterMinutes: 5,
    turnProfile: "casual",
  };
}

/** 80 seats of mixed fixed tables (SimOpt TABLEALLOCATION's room): 10×2, 5×4, 4×6, 2×8, no combinations. */
function mixedRoom(): Layout {
  const p = new FloorPlan(2);
  const sizes = [2, 4, 2, 6, 2, 8, 4, 2, 6, 2, 4, 2, 6, 2, 8, 4, 2, 6, 2, 4, 2];
  sizes.forEach((capacity, i) => p.add({ number: String(i + 1), capacity, movable: false }));
  return {
    id: "mixed-80",
    name: "Mixed room, 80 seats, fixed tables",
    ...p.parts(),
    maxTables: 1,
    bufferAfterMinutes: 5,
    turnProfile: "casual",
  };
}

/** The Chevys room: 56 4-tops in rows of four (neighbours in a row join), two 6-tops, two 2-tops. */
function chevysRoom(p: FloorPlan, zone = "main"): void {
  for (let row = 0; row < 14; row++) {
    const numbers = range(row * 4 + 1, row * 4 + 4);
    for (const number of numbers) p.add({ number, capacity: 4, zone });
    p.chain(...numbers);
  }
  p.add({ number: "57", capacity: 6, zone, movable: false }).add({
    number: "58",
    capacity: 6,
    zone,
    movable: false,
  });
  p.add({ number: "59", capacity: 2, zone }).add({ number: "60", capacity: 2, zone });
}

function casual240(): Layout {
  const p = new FloorPlan(3);
  chevysRoom(p);
  return {
    id: "casual-240",
    name: "Casual room, 240 seats, 4-tops in rows",
    ...p.parts(),
    maxTables: 3,
    bufferAfterMinutes: 5,
    turnProfile: "casual",
  };
}

/** 60 seats with long turns: 2+2, 4+4 and 6+4 pairs, and a private room for parties of 8 to 10. */
function fineDining(): Layout {
  const p = new FloorPlan(4, 2);
  const sizes = [2, 4, 2, 6, 2, 4, 2, 4, 2, 6, 4, 2, 4, 2, 4];
  sizes.forEach((capacity, i) => p.add({ number: String(i + 1), capacity }));
  p.add({ number: "16", capacity: 10, min: 8, zone: "private", movable: false });
  p.chain("1", "3").chain("5", "7").chain("9", "12").chain("2", "6").chain("8", "11").chain("4", "13")
    .chain("10", "15");
  return {
    id: "fine-60",
    name: "Fine dining, 60 seats, private room",
    ...p.parts(),
    maxTables: 2,
    bufferAfterMinutes: 10,
    turnProfile: "fine",
  };
}

/** The casual room plus a patio of 4-tops (pairs join) and a walk-in-only bar of twelve stools. */
function multiZone(): Layout {
  const p = new FloorPlan(5);
  chevysRoom(p);
  const patio = range(61, 68);
  for (const number of patio) p.add({ number, capacity: 4, zone: "patio" });
  p.chain("61", "62").chain("63", "64").chain("65", "66").chain("67", "68");
  const bar = range(69, 80);
  for (const number of bar) p.add({ number, capacity: 1, zone: "bar" });
  p.chain(...bar).walkInsOnly(...bar);
  return {
    id: "multi-zone",
    name: "Multi-zone venue, 284 seats (room, patio, bar)",
    ...p.parts(),
    maxTables: 3,
    bufferAfterMinutes: 5,
    turnProfile: "casual",
  };
}

/**
 * Unseen by the tuning: 76 seats in two zones. Banquettes of four 2-tops, 4-tops that join in pairs, round
 * 6- and 8-tops that never join, and a terrace of 4-tops in runs of three.
 */
function brasserie(): Layout {
  const p = new FloorPlan(6);
  for (const number of range(1, 8)) p.add({ number, capacity: 2 });
  for (const number of range(9, 12)) p.add({ number, capacity: 4 });
  p.add({ number: "13", capacity: 6, movable: false }).add({ number: "14", capacity: 6, movable: false });
  p.add({ number: "15", capacity: 8, min: 5, movable: false });
  for (const number of range(16, 21)) p.add({ number, capacity: 4, zone: "terrace" });
  p.chain("1", "2", "3", "4").chain("5", "6", "7", "8").chain("9", "10").chain("11", "12");
  p.chain("16", "17", "18").chain("19", "20", "21");
  return {
    id: "brasserie-76",
    name: "Brasserie, 76 seats, banquettes, round tables and a terrace",
    ...p.parts(),
    maxTables: 3,
    bufferAfterMinutes: 10,
    turnProfile: "casual",
    unseen: true,
  };
}

export const LAYOUTS: readonly Layout[] = [
  bistro(),
  mixedRoom(),
  casual240(),
  fineDining(),
  multiZone(),
  brasserie(),
];

export function layoutById(id: string): Layout {
  const layout = LAYOUTS.find((l) => l.id === id);
  if (!layout) throw new RangeError(`unknown layout "${id}"; known: ${LAYOUTS.map((l) => l.id).join(", ")}`);
  return layout;
}

export function seats(layout: Layout): number {
  return layout.tables.reduce((n, t) => n + t.capacity, 0);
}
