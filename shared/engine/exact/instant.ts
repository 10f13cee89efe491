// A relaxation at one instant of the new booking's stay, stated without the room's symmetry. The bookings
// present then need pairwise disjoint arrangements; each may take any arrangement its rules allow on tables
// some of them could use (a superset of what it may really take, so "no packing" here means none at all).
// Tables fall into parts that no arrangement spans; parts offering the same packings are interchangeable, so
// the program counts how many parts of each kind take each packing instead of choosing tables: 14 identical
// rows of 4-tops become one count per packing, where the full model's solver would branch over their
// permutations. Kinds of booking are matched to the slots the packings offer by a transport. The counts are
// left fractional too, so HiGHS solves a linear program (about 0.5 ms) instead of branching (about 6 ms, even
// for 20 columns): a relaxation of the relaxation, so "no solution" still means no packing at all. On 10,143
// such programs from the quality benchmark's reviews, whole counts never refuted one the fractional ones did not.
import { appendTo } from "../multimap.ts";
import type { IntegerProgram } from "./highs.ts";
import type { ExactProblem } from "./model.ts";

/** Packings enumerated per instant before the relaxation is left to the full model. */
const MAX_PACKINGS = 4000;
/** Arrangements in one part past which it is left to the full model too: its packings are listed by a search
 * one call deep per arrangement, and a few thousand more would overflow the stack (about 10,000 frames). */
const MAX_PART_GROUPS = 5000;

/** The instants of the new booking's stay worth checking: only where some booking starts does the set present grow. */
export function stayInstants(problem: ExactProblem): number[] {
  const { windowStart, windowEnd } = problem.subject;
  const instants = new Set([windowStart]);
  for (const item of problem.movable) {
    if (item.windowStart > windowStart && item.windowStart < windowEnd) instants.add(item.windowStart);
  }
  return [...instants];
}

/** The relaxation at `instant` as a linear program, or null when it has too many packings to list. */
export function instantProgram(problem: ExactProblem, instant: number): IntegerProgram | null {
  const present = [problem.subject, ...problem.movable].filter((item) =>
    item.windowStart <= instant && instant < item.windowEnd
  );
  const open = new Set(present.flatMap((item) => item.options.flat()));
  // Kinds of booking: the same rules, and the same arrangement the rules no longer offer, if any.
  const ruleIds = new Map<readonly (readonly string[])[], number>();
  const demand = new Map<string, number>();
  const groups = new Map<string, { tables: readonly string[]; kinds: Set<string> }>();
  const seen = new Set<string>();
  for (const item of present) {
    const ruled = new Set(item.rules);
    const extra = item.options.filter((tables) => !ruled.has(tables));
    if (!ruleIds.has(item.rules)) ruleIds.set(item.rules, ruleIds.size);
    const kind = [ruleIds.get(item.rules), ...extra.map(key)].join("|");
    demand.set(kind, (demand.get(kind) ?? 0) + 1);
    if (seen.has(kind)) continue;
    seen.add(kind);
    for (const tables of [...extra, ...item.rules.filter((t) => t.every((id) => open.has(id)))]) {
      const k = key(tables);
      if (!groups.has(k)) groups.set(k, { tables, kinds: new Set() });
      groups.get(k)!.kinds.add(kind);
    }
  }
  const slotOf = (g: { kinds: Set<string> }) => [...g.kinds].sort().join("#");
  // Parts: tables joined by some arrangement.
  const parent = new Map([...open].map((id) => [id, id]));
  const root = (id: string): string => {
    const p = parent.get(id)!;
    if (p === id) return id;
    const r = root(p);
    parent.set(id, r);
    return r;
  };
  for (const { tables } of groups.values()) {
    for (const id of tables.slice(1)) parent.set(root(id), root(tables[0]));
  }
  const partGroups = new Map<string, { tables: readonly string[]; slot: string }[]>();
  for (const g of groups.values()) {
    const r = root(g.tables[0]);
    appendTo(partGroups, r, { tables: g.tables, slot: slotOf(g) });
  }
  // Interchangeable parts: the same packings, as multisets of slots.
  const partKinds = new Map<string, { count: number; packings: Map<string, number>[] }>();
  let listed = 0;
  for (const part of partGroups.values()) {
    if (part.length > MAX_PART_GROUPS) return null;
    const packings = maximalPackings(part, MAX_PACKINGS - listed);
    if (!packings) return null;
    listed += packings.length;
    const described = new Map(packings.map((p) => [describe(p), p]));
    const signature = [...described.keys()].sort().join("/");
    const known = partKinds.get(signature);
    if (known) known.count++;
    else partKinds.set(signature, { count: 1, packings: [...described.values()] });
  }

  const columns: IntegerProgram["columns"][number][] = [];
  const rows: IntegerProgram["rows"][number][] = [];
  const supply = new Map<string, [number, number][]>();
  for (const { count, packings } of partKinds.values()) {
    const row: [number, number][] = [];
    for (const packing of packings) {
      const column = columns.push({ upper: count, integer: false }) - 1;
      row.push([column, 1]);
      for (const [slot, n] of packing) appendTo(supply, slot, [column, -n]);
    }
    rows.push({ terms: row, lower: 0, upper: count });
  }
  const served = new Map<string, [number, number][]>();
  for (const [slot, terms] of supply) {
    const row = [...terms];
    for (const kind of slot.split("#")) {
      const column = columns.push({ upper: Infinity, integer: false }) - 1;
      row.push([column, 1]);
      appendTo(served, kind, [column, 1]);
    }
    rows.push({ terms: row, lower: -Infinity, upper: 0 });
  }
  for (const [kind, n] of demand) rows.push({ terms: served.get(kind) ?? [], lower: n, upper: n });
  return { columns, rows };
}

/** Every packing of the part's groups that no further group fits beside, as slot counts; null past `cap`. */
function maximalPackings(
  groups: readonly { tables: readonly string[]; slot: string }[],
  cap: number,
): Map<string, number>[] | null {
  const found: Map<string, number>[] = [];
  const used = new Set<string>();
  const chosen: string[] = [];
  const fits = (g: { tables: readonly string[] }) => g.tables.every((id) => !used.has(id));
  let steps = 0;
  // Groups in a fixed order; each is taken or skipped, and a skipped group must end up blocked.
  const visit = (i: number, skipped: number[]): boolean => {
    if (++steps > cap * 50) return false;
    if (i === groups.length) {
      if (skipped.some((s) => fits(groups[s]))) return true;
      if (found.length >= cap) return false;
      const counts = new Map<string, number>();
      for (const slot of chosen) counts.set(slot, (counts.get(slot) ?? 0) + 1);
      found.push(counts);
      return true;
    }
    const g = groups[i];
    if (fits(g)) {
      for (const id of g.tables) used.add(id);
      chosen.push(g.slot);
      const ok = visit(i + 1, skipped);
      chosen.pop();
      for (const id of g.tables) used.delete(id);
      if (!ok) return false;
      return visit(i + 1, [...skipped, i]);
    }
    return visit(i + 1, skipped);
  };
  return visit(0, []) ? found : null;
}

function describe(packing: ReadonlyMap<string, number>): string {
  return [...packing].map(([slot, n]) => `${n}*${slot}`).sort().join(",");
}

function key(tables: readonly string[]): string {
  return [...tables].sort().join(",");
}
