// Which of the pipeline's commits wait for the disk, each called as the coordinator and the dispatcher call
// them: one RPC, one transaction. The lease and a claim may be lost in a crash without losing anything, so they
// do not wait; the booking, its tables and confirmation, a failure and the guest message's claim and
// completion do.
import type postgres from "postgres";
import { assertEquals } from "../../../shared/testing/assert.ts";
import { connect, createRestaurant, someDay, withDispatchPaused } from "../../../shared/testing/stack.ts";

const sql = connect(1);

/** The synchronous_commit a statement's transaction commits with, read after it inside that transaction. */
async function commitsWith<T>(statement: (tx: postgres.TransactionSql) => Promise<T>): Promise<[T, string]> {
  let result!: T;
  let setting = "";
  await sql.begin(async (tx) => {
    result = await statement(tx);
    [{ setting }] = await tx<{ setting: string }[]>`select current_setting('synchronous_commit') as setting`;
  });
  return [result, setting];
}

Deno.test("the lease and a claim commit without waiting for the disk; the rest of a booking's commits wait", async () => {
  await withDispatchPaused(sql, async () => {
    const r = await createRestaurant(sql, { tables: [{ number: "A1", capacity: 4 }] });
    const [id, insert] = await commitsWith(async (tx) => {
      const booking = await r.insertBooking(2, `${someDay()}T19:00:00Z`, tx);
      await tx`update public.bookings set next_attempt_at = now() + interval '1 hour' where id = ${booking}`;
      return booking;
    });
    assertEquals(insert, "on", "a booking's insert waits");
    const [begun, lease] = await commitsWith(async (tx) => {
      const [{ r: b }] = await tx<{ r: { outcome: string; lease_token: string } }[]>`
        select public.assignment_lease(${id}, 'test') as r`;
      return b;
    });
    assertEquals(begun.outcome, "ready");
    assertEquals(lease, "off", "the lease does not");
    const [, claim] = await commitsWith((tx) => tx`select public.assignment_claim_due(10)`);
    assertEquals(claim, "off", "a claim does not");
    const [committed, confirm] = await commitsWith(async (tx) => {
      const [{ r: c }] = await tx<{ r: { outcome: string } }[]>`
        select public.assignment_commit(${id}, ${begun.lease_token}::uuid, array[${r.tableIds.get(
        "A1",
      )!}]::uuid[],
                                        'scarcity_fit') as r`;
      return c;
    });
    assertEquals(committed.outcome, "confirmed");
    assertEquals(confirm, "on", "the tables and the confirmation wait");
    // Claims go oldest first, and a database other tests filled may hold more due messages than one claim
    // takes: this booking's message is made the oldest, so a claim of one takes it.
    await sql`update public.notification_outbox set next_attempt_at = '2000-01-01' where booking_id = ${id}`;
    const [message, messageClaim] = await commitsWith(async (tx) => {
      const [m] = await tx<{ id: number; lease_token: string; booking_id: string }[]>`
        select c.id, c.lease_token, c.booking_id from public.notification_claim(1, 60000) c`;
      return m;
    });
    assertEquals(message?.booking_id, id, "the booking's confirmation message is claimed");
    assertEquals(
      messageClaim,
      "on",
      "a guest message's claim waits (lost after sending, it would go out again)",
    );
    const [, sent] = await commitsWith((tx) =>
      tx`select public.notification_complete(${message.id}, ${message.lease_token}::uuid, true)`
    );
    assertEquals(sent, "on", "and so does its completion");
  });
  await sql.end();
});
