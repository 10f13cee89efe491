// From the solver's choice back to what the pipeline commits: the new booking's tables (the plan) and the
// bookings that end up on other tables than they hold (the moves, as assignment_commit re-checks them).
import type { Move } from "../../domain/move.ts";
import type { Snapshot } from "../../domain/snapshot.ts";
import type { Plan } from "../planner.ts";
import type { ExactModel } from "./model.ts";

export function decode(
  snapshot: Snapshot,
  model: ExactModel,
  choice: readonly number[],
  strategy: string,
): { plan: Plan & { decision: "assign" }; moves: Move[] } {
  const byId = new Map(snapshot.tables.map((t) => [t.id, t]));
  const [subject, ...others] = model.items;
  const tables = subject.options[choice[0]].map((id) => byId.get(id)!);
  const moves = others.flatMap((item, i): Move[] => {
    const k = choice[i + 1];
    if (k === item.current) return [];
    return [{
      bookingId: item.id,
      fromTableIds: [...item.options[item.current!]],
      toTableIds: [...item.options[k]],
    }];
  }).sort((a, b) => a.bookingId.localeCompare(b.bookingId));
  return {
    plan: {
      decision: "assign",
      strategy,
      tableIds: tables.map((t) => t.id),
      tableNumbers: tables.map((t) => t.number),
      score: 0,
      slack: tables.reduce((n, t) => n + t.capacity, 0) - snapshot.partySize,
      candidates: subject.options.length,
    },
    moves,
  };
}
