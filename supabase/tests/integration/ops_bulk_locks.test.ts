// An operator's bulk call locks a booking's row only once it holds the booking (20261231010000). A booking a
// call found busy, because someone holds the booking's lock (a begin between its two steps, another
// operator), used to be skipped with its row still locked to the end of the call; a begin waiting on that row
// holds its restaurant's lock meanwhile. Real connections play each part: one holds the booking, one runs the
// operator's call and keeps it open, one asks for the rows without waiting.
import { assertEquals } from "../../../shared/testing/assert.ts";
import {
  connect,
  createRestaurant,
  DB_URL,
  holdLock,
  holdOpen,
  sendToReview,
  someDay,
  withDispatchPaused,
} from "../../../shared/testing/stack.ts";
import { postgresStore } from "../../../shared/store/postgres.ts";

const sql = connect(2);
globalThis.addEventListener("unload", () => void sql.end());

/** Whether `id`'s row can be locked right now, without waiting. */
async function rowIsFree(id: string): Promise<boolean> {
  try {
    await sql.begin((tx) => tx`select 1 from public.bookings where id = ${id} for update nowait`);
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === "55P03") return false;
    throw error;
  }
}

/** Runs `call` (an operator's bulk call) in a transaction kept open, returning its answer and the release. */
async function keptOpen(call: string, args: unknown[]) {
  let answer: Record<string, number> = {};
  const open = await holdOpen(async (tx) => {
    [{ answer }] = await tx.unsafe(`select ${call} as answer`, args as never[]);
  });
  return { answer, release: open.release };
}

Deno.test("ops.release_stuck leaves the row of a booking it found busy unlocked", async () => {
  await withDispatchPaused(sql, async () => {
    const r = await createRestaurant(sql, { tables: [{ number: "S1", capacity: 4 }] });
    const day = someDay();
    const busy = await r.insertBooking(2, `${day}T19:00:00Z`);
    const stuck = await r.insertBooking(2, `${day}T21:00:00Z`);
    // No progress for 30 days (set past the trigger that stamps every update), and a cutoff of 20, so the
    // call, which looks at every restaurant, finds these two only: no test leaves a booking that long.
    await sql.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`update public.bookings set updated_at = now() - interval '30 days' where id in ${
        sql([busy, stuck])
      }`;
    });
    const minutes = 20 * 24 * 60;
    const held = await holdLock(sql, "booking", busy);
    try {
      const call = await keptOpen("ops.release_stuck($1, 'ana')", [minutes]);
      try {
        assertEquals(call.answer.skipped_busy, 1, "the held booking is skipped as busy");
        assertEquals(call.answer.redispatched, 1, "the other one is dispatched again");
        assertEquals(await rowIsFree(busy), true, "the busy booking's row is not locked by the call");
        assertEquals(await rowIsFree(stuck), false, "the row of the booking it acted on stays locked");
      } finally {
        await call.release();
      }
    } finally {
      await held.release();
      // Not left stuck for the health checks that run later.
      for (const id of [busy, stuck]) await sql`select public.cancel_booking(${id}, 'test over', 'test')`;
    }
  });
});

Deno.test("ops.retry_bookings leaves the row of a booking it found busy unlocked", async () => {
  await withDispatchPaused(sql, async () => {
    const r = await createRestaurant(sql, { tables: [{ number: "R1", capacity: 4 }] });
    const day = someDay();
    const ids = [
      await r.insertBooking(2, `${day}T19:00:00Z`),
      await r.insertBooking(2, `${day}T21:00:00Z`),
    ];
    const store = postgresStore(DB_URL, { max: 1 });
    try {
      for (const id of ids) await sendToReview(store, id);
    } finally {
      await store.close();
    }
    const [busy, other] = ids;
    const held = await holdLock(sql, "booking", busy);
    try {
      const call = await keptOpen(
        "ops.retry_bookings('no_table_fits', 'ana', now() - interval '1 hour', $1)",
        [
          r.id,
        ],
      );
      try {
        assertEquals([call.answer.busy, call.answer.queued], [1, 1], "one held, one sent back");
        assertEquals(await rowIsFree(busy), true, "the busy booking's row is not locked by the call");
        assertEquals(await rowIsFree(other), false, "the row of the booking it sent back stays locked");
      } finally {
        await call.release();
      }
    } finally {
      await held.release();
    }
  });
});
