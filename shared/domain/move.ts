// A booking re-optimisation moves to other tables so a new one fits: planned by the engine, written by
// assignment_commit (p_moves), which re-checks that the booking still holds `fromTableIds`.
export interface Move {
  readonly bookingId: string;
  readonly fromTableIds: readonly string[];
  readonly toTableIds: readonly string[];
  /**
   * The booking as the plan saw it (its hold's window, its party), sent with a commit: a booking changed and
   * held again on the same tables since the snapshot is then a lost race, not a move that breaks a rule.
   */
  readonly seen?: { readonly windowStart: number; readonly windowEnd: number; readonly partySize: number };
}
