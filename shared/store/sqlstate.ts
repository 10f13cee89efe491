// The SQLSTATEs of the pipeline's business errors (`raise exception using errcode = 'AS0nn'` in
// supabase/migrations): the one list TypeScript knows them by. sqlstate.test.ts fails when the SQL raises a
// code that is missing here.
export const SQLSTATE = {
  /** The state machine has no such transition (or the booking is already cancelled). */
  illegalTransition: "AS001",
  /** A stale expected version: someone else changed the booking first. */
  staleVersion: "AS002",
  /** No booking with that id. */
  unknownBooking: "AS003",
  /** The assignment state was changed outside the state machine (a direct UPDATE or INSERT). */
  outsideStateMachine: "AS004",
  /** A bad argument; the message names it. */
  invalidArgument: "AS005",
  /** The restaurant already has max_parallel bookings in progress. */
  maxParallelReached: "AS006",
  /** The proposed tables (or a proposed move) break a seating rule. */
  planBreaksRule: "AS007",
  /** Ops: the booking is being assigned right now; try again in a few seconds. */
  beingAssigned: "AS008",
  /** Ops: a requested table is already taken for the booking's time. */
  tableTaken: "AS009",
  /** The target state needs bookkeeping this caller cannot do: a lease and slot, or tables (ops.assign_tables). */
  needsLeaseOrTables: "AS010",
  /** The booking's status would disagree with its assignment state. */
  statusDisagrees: "AS011",
  /** A client tried to set or change one of the pipeline's bookkeeping columns (due time, lease, counts …). */
  bookkeepingIsThePipelines: "AS012",
} as const;

export type SqlState = (typeof SQLSTATE)[keyof typeof SQLSTATE];
