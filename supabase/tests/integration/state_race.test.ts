// Several real connections race the same transition with the same expected version:
// Postgres must let exactly one through and refuse the rest as stale (AS002).
// The stack's coordinator keeps claiming due bookings while it runs, and the sweeper dispatches them, so the
// racing bookings are made unreachable for both: not due for an hour from the moment they exist.
import { assertEquals } from "../../../shared/testing/assert.ts";
import {
  connect,
  createRestaurant,
  localDataApi,
  someDay,
  waitFor,
  withDispatchPaused,
} from "../../../shared/testing/stack.ts";

const RACERS = 8;
const admin = connect(1);

/** A new booking that no drain or sweep will touch: inserted and made due in an hour in one transaction. */
async function unreachableBooking(): Promise<{ id: string; version: number }> {
  const r = await createRestaurant(admin, { tables: [{ number: "W1", capacity: 2 }] });
  return await admin.begin(async (tx) => {
    const id = await r.insertBooking(2, `${someDay()}T19:00:00Z`, tx);
    const [{ version }] = await tx<{ version: number }[]>`
      update public.bookings set next_attempt_at = now() + interval '1 hour' where id = ${id}
      returning assignment_state_version as version`;
    return { id, version };
  });
}

Deno.test("racing transitions with the same expected version produce exactly one winner", async () => {
  const racers = Array.from({ length: RACERS }, () => connect(1));
  try {
    await withDispatchPaused(admin, async () => {
      for (let round = 0; round < 5; round++) {
        const { id: bookingId, version: before } = await unreachableBooking();
        // Every racer has its own connection and all calls are in flight at once. The transition is one that
        // leaves the booking not due (manual review), so nothing but the racers can move it meanwhile.
        const results = await Promise.allSettled(
          racers.map((sql) =>
            sql`select public.transition_assignment_state(${bookingId}, 'manual_review', ${before},
                                                          'race test', '{}', 'racer')`
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
        assertEquals(version, before + 1, "the version moved by exactly one");
        assertEquals(history, 1, "exactly one history row");
        assertEquals(events, 1, "exactly one transition event");
      }
    });
  } finally {
    await Promise.all(racers.map((sql) => sql.end()));
  }
});

Deno.test("racing through the Data API as service_role, exactly one transition wins", async () => {
  // As a client really calls it: supabase-js with the service-role key, the requests in flight at once on
  // the Data API's own pool of connections, each running as service_role.
  const { platform, standIn } = await localDataApi();
  await withDispatchPaused(admin, async () => {
    for (let round = 0; round < 3; round++) {
      const { id: bookingId, version: before } = await unreachableBooking();
      const served = standIn.requests.length;
      const results = await Promise.all(
        Array.from({ length: RACERS }, () =>
          platform.rpc("transition_assignment_state", {
            p_booking_id: bookingId,
            p_to_state: "manual_review",
            p_expected_version: before,
            p_reason: "race test",
            p_actor: "racer",
          })),
      );
      assertEquals(
        standIn.requests.slice(served).map((r) => `${r.route} as ${r.role}`),
        Array(RACERS).fill("rpc/transition_assignment_state as service_role"),
        "every racer went through the Data API as service_role",
      );
      assertEquals(
        results.filter((r) => r.error === null).length,
        1,
        `round ${round}: exactly one racer wins`,
      );
      assertEquals(
        results.filter((r) => r.error?.code === "AS002").length,
        RACERS - 1,
        `round ${round}: every other racer is told its version is stale`,
      );
      const [{ version, history }] = await admin`
        select b.assignment_state_version as version,
               (select count(*)::int from public.booking_assignment_state_history h where h.booking_id = b.id) as history
          from public.bookings b where b.id = ${bookingId}`;
      assertEquals(version, before + 1, "the version moved by exactly one");
      assertEquals(history, 1, "exactly one history row");
    }
  });
});

Deno.test("a transition waiting on another connection's row lock sees the new version and is refused", async () => {
  const a = connect(1);
  const b = connect(1);
  try {
    await withDispatchPaused(admin, async () => {
      const { id: bookingId, version } = await unreachableBooking();
      const [{ pid: bPid }] = await b<{ pid: number }[]>`select pg_backend_pid() as pid`;
      let releaseA!: () => void;
      const aHolds = new Promise<void>((resolve) => (releaseA = resolve));
      let aStarted!: () => void;
      const aInside = new Promise<void>((resolve) => (aStarted = resolve));
      const first = a.begin(async (tx) => {
        await tx`select public.transition_assignment_state(${bookingId}, 'manual_review', ${version}, 'first')`;
        aStarted();
        await aHolds; // keep the transaction (and the row lock) open
      });
      await aInside;
      const second =
        b`select public.transition_assignment_state(${bookingId}, 'manual_review', ${version}, 'second')`;
      const secondOutcome = second.then(() => "won", (e) => (e as { code?: string }).code);
      // Once b is blocked on a's row lock, let a commit (in any case, so a failure here cannot hang the test).
      try {
        await waitFor("the second transition to wait for the first one's row lock", async () => {
          const [row] = await admin`
            select 1 from pg_stat_activity where pid = ${bPid} and wait_event_type = 'Lock'`;
          return row ? true : undefined;
        });
      } finally {
        releaseA();
      }
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
