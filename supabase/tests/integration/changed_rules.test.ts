// A rule that changes between begin and commit, against the running stack: the real RPCs, the real
// coordinator loop and a platform's write through the Data API in between. The commit answers with a fresh
// snapshot (rule_changed), the coordinator re-plans on it, and the restaurant's circuit breaker never hears
// of it. Dispatch is paused while each test runs, so only the test moves its booking.
import { assert, assertEquals } from "../../../shared/testing/assert.ts";
import {
  activeTables,
  connect,
  createRestaurant,
  DB_URL,
  localDataApi,
  someDay,
  withDispatchPaused,
} from "../../../shared/testing/stack.ts";
import { processBooking } from "../../../shared/coordinator/coordinator.ts";
import { postgresStore } from "../../../shared/store/postgres.ts";
import type { AssignmentStore } from "../../../shared/store/port.ts";
import { silentLogger } from "../../../shared/telemetry/log.ts";

const sql = connect(2);

/** The real store, with `between` run once, after the engine planned and before its first commit arrives. */
function changingBeforeFirstCommit(
  store: AssignmentStore,
  between: (tableIds: string[]) => Promise<void>,
): AssignmentStore {
  let first = true;
  return {
    ...store,
    async commit(args) {
      if (first) {
        first = false;
        await between(args.tableIds);
      }
      return await store.commit(args);
    },
  };
}

/** What the restaurant's breaker and error events say after the run. */
async function breakerAndErrors(restaurantId: string, bookingId: string) {
  const [breaker] = await sql<{ consecutive_failures: number; state: string }[]>`
    select state, consecutive_failures from private.circuit_breakers where restaurant_id = ${restaurantId}`;
  const [{ errors }] = await sql<{ errors: number }[]>`
    select count(*)::int as errors from public.observability_events
     where booking_id = ${bookingId} and event_type = 'coordinator.error'`;
  const conflicts = await sql<{ cause: string; rule: string }[]>`
    select context ->> 'cause' as cause, context ->> 'rule' as rule from public.observability_events
     where booking_id = ${bookingId} and event_type = 'coordinator.commit_conflict'`;
  return {
    breaker: breaker ?? { state: "closed", consecutive_failures: 0 },
    errors,
    conflicts: [...conflicts],
  };
}

Deno.test("a party size raised between begin and commit is re-planned on a fresh snapshot, the breaker untouched", () =>
  withDispatchPaused(sql, async () => {
    const r = await createRestaurant(sql, {
      tables: [{ number: "S2", capacity: 2 }, { number: "S4", capacity: 4 }],
    });
    const booking = await r.insertBooking(2, `${someDay()}T19:00:00Z`);
    const { platform } = await localDataApi();
    const real = postgresStore(DB_URL, { max: 1 });
    try {
      const store = changingBeforeFirstCommit(real, async () => {
        // The guest calls: two more are coming. The platform writes it as it writes any change.
        const { error } = await platform.from("bookings").update({ party_size: 4 }).eq("id", booking);
        if (error) throw new Error(`raising the party size: ${error.code} ${error.message}`);
      });
      const outcome = await processBooking(store, booking, "test", {
        strategy: "optimal_fit",
        maxReplans: 3,
        logger: silentLogger,
      });
      assertEquals(outcome.outcome, "confirmed", JSON.stringify(outcome));
      assert(outcome.outcome === "confirmed");
      assertEquals(outcome.replans, 1, "one re-plan, on the snapshot of the party of four");
      assertEquals(await activeTables(sql, booking), ["S4"], "the party of four sits at the 4-top");
      const seen = await breakerAndErrors(r.id, booking);
      assertEquals(seen.conflicts, [{ cause: "rule_changed", rule: "party_size_out_of_range" }]);
      assertEquals(seen.errors, 0, "no coordinator.error");
      assertEquals(
        [seen.breaker.state, seen.breaker.consecutive_failures],
        ["closed", 0],
        "the breaker is untouched",
      );
      const [attempts] = await sql<{ errors: number }[]>`
        select count(*) filter (where result = 'error')::int as errors
          from public.booking_assignment_attempts where booking_id = ${booking}`;
      assertEquals(attempts.errors, 0, "and no attempt ended in an error");
    } finally {
      await real.close();
    }
  }));

Deno.test("a table taken out of service between begin and commit is re-planned around, the breaker untouched", () =>
  withDispatchPaused(sql, async () => {
    const r = await createRestaurant(sql, {
      tables: [{ number: "O1", capacity: 2 }, { number: "O2", capacity: 2 }],
    });
    // Four errors already: one more counted would open the breaker for the whole restaurant.
    await sql`insert into private.circuit_breakers (restaurant_id, consecutive_failures) values (${r.id}, 4)`;
    const booking = await r.insertBooking(2, `${someDay()}T12:00:00Z`);
    const real = postgresStore(DB_URL, { max: 1 });
    let planned: string | undefined;
    try {
      const store = changingBeforeFirstCommit(real, async ([tableId]) => {
        planned = tableId;
        // Someone spilled wine on the table the engine chose.
        await sql`update public.restaurant_tables set out_of_service = true where id = ${tableId}`;
      });
      const outcome = await processBooking(store, booking, "test", {
        strategy: "optimal_fit",
        maxReplans: 3,
        logger: silentLogger,
      });
      assertEquals(outcome.outcome, "confirmed", JSON.stringify(outcome));
      assert(outcome.outcome === "confirmed" && planned !== undefined);
      const [chosen] = await sql<{ table_number: string }[]>`
        select table_number from public.restaurant_tables where id = ${planned}`;
      assertEquals(
        await activeTables(sql, booking),
        [chosen.table_number === "O1" ? "O2" : "O1"],
        "seated at the table still in service",
      );
      const seen = await breakerAndErrors(r.id, booking);
      assertEquals(seen.conflicts, [{ cause: "rule_changed", rule: "table_unavailable" }]);
      assertEquals(seen.errors, 0, "no coordinator.error");
      // The confirmed run closes what was counted before; what matters is it never opened.
      const opened = await sql`
        select 1 from public.observability_events
         where restaurant_id = ${r.id} and event_type = 'coordinator.circuit_opened'`;
      assertEquals(opened.length, 0, "the breaker, one error from opening, never opened");
    } finally {
      await real.close();
    }
  }));

// The snapshot is read in a transaction of its own after the lease (20261216000000), so a rule that changes
// between the two is already in the snapshot while the rules digest is the lease's. A plan that breaks a rule
// anyway — an engine bug — is then taken for a rule change once (re-planned on the commit's fresh snapshot)
// and reported as the engine's error the second time, which the breaker counts; it is never confirmed.
Deno.test("a rule-breaking plan after a rule changed between lease and snapshot is re-planned once, then is the engine's error", () =>
  withDispatchPaused(sql, async () => {
    const r = await createRestaurant(sql, {
      tables: [{ number: "B2", capacity: 2 }, { number: "B4", capacity: 4 }],
    });
    const booking = await r.insertBooking(2, `${someDay()}T19:00:00Z`);
    const [{ small }] = await sql<{ small: string }[]>`
      select id::text as small from public.restaurant_tables where restaurant_id = ${r.id} and table_number = 'B2'`;
    const { platform } = await localDataApi();
    const real = postgresStore(DB_URL, { max: 1 });
    const committed: string[][] = [];
    let firstRead = true;
    try {
      const store: AssignmentStore = {
        ...real,
        async snapshot(lease) {
          if (firstRead) {
            firstRead = false;
            // Between the lease and the read: the guest calls, two more are coming.
            const { error } = await platform.from("bookings").update({ party_size: 4 }).eq("id", booking);
            if (error) throw new Error(`raising the party size: ${error.code} ${error.message}`);
          }
          return await real.snapshot(lease);
        },
        // The engine bug: whatever it planned, it seats the party at the 2-top.
        async commit(args) {
          committed.push(args.tableIds);
          return await real.commit({ ...args, tableIds: [small] });
        },
      };
      const outcome = await processBooking(store, booking, "test", {
        strategy: "optimal_fit",
        maxReplans: 3,
        logger: silentLogger,
      });
      assertEquals(outcome.outcome, "retry", JSON.stringify(outcome));
      assert(outcome.outcome === "retry");
      assert(outcome.reason?.startsWith("engine_error:"), `the engine's error: ${outcome.reason}`);
      assertEquals(committed.length, 2, "one re-plan, then the error");
      assertEquals(await activeTables(sql, booking), [], "nothing held");
      const seen = await breakerAndErrors(r.id, booking);
      assertEquals(seen.conflicts, [{ cause: "rule_changed", rule: "party_size_out_of_range" }]);
      assertEquals(seen.errors, 1, "one coordinator.error");
      assertEquals(seen.breaker.consecutive_failures, 1, "counted once by the breaker");
      const [state] = await sql<{ assignment_state: string; party_size: number }[]>`
        select assignment_state, party_size from public.bookings where id = ${booking}`;
      assertEquals(
        [state.assignment_state, state.party_size],
        ["assignment_pending", 4],
        "queued for its retry",
      );
    } finally {
      await real.close();
    }
  }));

// Closed when the test process ends, not by a test of its own (one that asserts nothing would count as passed).
globalThis.addEventListener("unload", () => void sql.end());
