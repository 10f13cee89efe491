// Several real connections race the same transition with the same expected version:
// Postgres must let exactly one through and refuse the rest as stale (AS002).
import { assertEquals } from "../../../shared/testing/assert.ts";
import { connect, createRestaurant, someDay, withDispatchPaused } from "../../../shared/testing/stack.ts";

const RACERS = 8;
const admin = connect(1);

async function newBooking(): Promise<string> {
  const r = await createRestaurant(admin, { tables: [{ number: "W1", capacity: 2 }] });
  return await r.insertBooking(2, `${someDay()}T19:00:00Z`);
}

Deno.test("racing transitions with the same expected version produce exactly one winner", async () => {
  const racers = Array.from({ length: RACERS }, () => connect(1));
  try {
    await withDispatchPaused(admin, async () => {
      for (let round = 0; round < 5; round++) {
        const bookingId = await newBooking();
        // Every racer has its own connection and all calls are in flight at once.
        const results = await Promise.allSettled(
          racers.map((sql) =>
            sql`select public.transition_assignment_state(${bookingId}, 'capacity_verified', 1, null, '{}', 'racer')`
          ),
        );
        const winners = results.filter((r) => r.status === "fulfilled").length;
        const stale = results.filter((r) =>
          r.status === "rejected" && (r.reason as { code?: string }).code === "AS002"
        ).length;
        assertEquals(winners, 1, `round ${round}: exactly one racer wins`);
        assertEquals(stale, RACERS - 1, `round ${round}: every other racer is told its version is stale`);
        const [{ version, history, events }] = await admin`
          select b.assignment_state_version as version,
                 (select count(*)::int from public.booking_assignment_state_history h where h.booking_id = b.id) as history,
                 (select count(*)::int from public.observability_events e
                   where e.booking_id = b.id and e.source = 'assignment.state_machine') as events
            from public.bookings b where b.id = ${bookingId}`;
        assertEquals(version, 2, "the version moved by exactly one");
        assertEquals(history, 1, "exactly one history row");
        assertEquals(events, 1, "exactly one transition event");
      }
    });
  } finally {
    await Promise.all(racers.map((sql) => sql.end()));
  }
});

Deno.test("a transition waiting on another connection's row lock sees the new version and is refused", async () => {
  const a = connect(1);
  const b = connect(1);
  try {
    await withDispatchPaused(admin, async () => {
      const bookingId = await newBooking();
      let releaseA!: () => void;
      const aHolds = new Promise<void>((resolve) => (releaseA = resolve));
      let aStarted!: () => void;
      const aInside = new Promise<void>((resolve) => (aStarted = resolve));
      const first = a.begin(async (tx) => {
        await tx`select public.transition_assignment_state(${bookingId}, 'capacity_verified', 1)`;
        aStarted();
        await aHolds; // keep the transaction (and the row lock) open
      });
      await aInside;
      const second = b`select public.transition_assignment_state(${bookingId}, 'capacity_verified', 1)`;
      const secondOutcome = second.then(() => "won", (e) => (e as { code?: string }).code);
      // b is now blocked on a's row lock; let a commit.
      await new Promise((r) => setTimeout(r, 100));
      releaseA();
      await first;
      assertEquals(
        await secondOutcome,
        "AS002",
        "the waiting transition is refused as stale after the first commits",
      );
    });
  } finally {
    await Promise.all([a.end(), b.end(), admin.end()]);
  }
});
