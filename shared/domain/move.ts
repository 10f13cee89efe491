// A booking re-optimisation moves to other tables so a new one fits: planned by the engine, written by
// assignment_commit (p_moves), which re-checks that the booking still holds `fromTableIds`.
export interface Move {
  readonly bookingId: string;
  readonly fromTableIds: readonly string[];
  readonly toTableIds: readonly string[];
}
