// A wake passes over a queued booking another transaction holds, as `for update skip locked` did, and takes
// the next in line (private.queue_head, 20261231120000). Real connections: one holds the head's row while the
// wake runs on another.
import { assertEquals } from "../../../shared/testing/assert.ts";
import {
  connect,
  createRestaurant,
  holdOpen,
  someDay,
  withDispatchPaused,
} from "../../../shared/testing/stack.ts";

const sql = connect(2);
globalThis.addEventListener("unload", () => void sql.end());

Deno.test("the queue's head passes over a booking another transaction holds and takes the next", () =>
  withDispatchPaused(sql, async () => {
    const r = await createRestaurant(sql, { tables: [{ number: "Q1", capacity: 2 }] });
    const day = someDay();
    const queue: string[] = [];
    for (let i = 0; i < 3; i++) queue.push(await r.insertBooking(2, `${day}T19:0${i}:00Z`));
    // Queued and not woken, in the order they were inserted; behind an open breaker, so that no sweep or
    // claim loop wakes the queue as stranded while the test looks at it.
    await sql`
      insert into private.circuit_breakers (restaurant_id, state, consecutive_failures, opened_at)
      values (${r.id}, 'open', 5, now())`;
    for (const [i, id] of queue.entries()) {
      await sql`
        update public.bookings set deferred_since = now(), next_attempt_at = now() + interval '1 minute',
               created_at = now() - make_interval(secs => ${10 - i})
         where id = ${id}`;
    }
    const head = async (count: number) => {
      const [{ ids }] = await sql<
        { ids: string[] }[]
      >`select private.queue_head(${r.id}, ${count}, now()) as ids`;
      return ids;
    };
    assertEquals(await head(1), [queue[0]], "the longest waiting leads");
    const holder = await holdOpen((tx) =>
      tx`select 1 from public.bookings where id = ${queue[0]} for update`
    );
    try {
      assertEquals(await head(1), [queue[1]], "held by another transaction, it is passed over");
      assertEquals(await head(5), [queue[1], queue[2]], "and the rest follow in order");
    } finally {
      await holder.release();
    }
    assertEquals(await head(1), [queue[0]], "let go, it leads again");
  }));
