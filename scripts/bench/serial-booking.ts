// One booking through the pipeline's calls, on one connection, as the coordinator makes them: insert,
// assignment_lease, assignment_snapshot, then assignment_commit of the first table that seats the party (or
// assignment_fail as nothing fitting, when asked), and the guest messages then due claimed and completed.
// What scripts/bench-db-cost times, and how scripts/bench-ops-reads makes its template rows.
import type postgres from "postgres";

export interface SerialBooking {
  restaurantId: string;
  partySize: number;
  /** The booking starts at 19:00 UTC this many days from today. */
  inDays: number;
  /** End the attempt as nothing fitting, so the booking goes to review, instead of committing. */
  toReview?: boolean;
}

/** Returns the outcome of the commit, or of the failure. */
export async function serialBooking(sql: postgres.Sql, b: SerialBooking): Promise<string> {
  const [{ id }] = await sql<{ id: string }[]>`
    insert into public.bookings (restaurant_id, party_size, start_at)
    values (${b.restaurantId}, ${b.partySize},
            date_trunc('day', now()) + make_interval(days => ${b.inDays}) + interval '19 hours')
    returning id`;
  const [{ r: begun }] = await sql<{ r: { outcome: string; lease_token: string } }[]>`
    select public.assignment_lease(p_booking_id => ${id}, p_trigger => 'dispatch') as r`;
  if (begun.outcome !== "ready") throw new Error(`booking ${id}: the lease answered ${begun.outcome}`);
  const [{ r: read }] = await sql<{ r: { outcome: string; snapshot: Snapshot } }[]>`
    select public.assignment_snapshot(p_booking_id => ${id}, p_lease_token => ${begun.lease_token}) as r`;
  if (read.outcome !== "ready") throw new Error(`booking ${id}: the snapshot answered ${read.outcome}`);
  const table = read.snapshot.tables.find((t) =>
    t.min_party_size <= b.partySize && t.max_party_size >= b.partySize
  );
  if (!table) throw new Error(`booking ${id}: no table seats ${b.partySize}`);
  const [{ r: ended }] = b.toReview
    ? await sql<{ r: { outcome: string } }[]>`
      select public.assignment_fail(p_booking_id => ${id}, p_lease_token => ${begun.lease_token}, p_kind => 'no_fit',
        p_reason => ${`no_table_fits: no free table or combination seats a party of ${b.partySize}`},
        p_duration_ms => 3) as r`
    : await sql<{ r: { outcome: string } }[]>`
      select public.assignment_commit(p_booking_id => ${id}, p_lease_token => ${begun.lease_token},
        p_table_ids => ${[table.id]}::uuid[], p_strategy => 'scarcity_fit', p_duration_ms => 3,
        p_metadata => ${sql.json({ score: 1.5, slack: 0, candidates: 4, replans: 0, mode: "v3" })}) as r`;
  await sql`
    select count(public.notification_complete(p_id => c.id, p_lease_token => c.lease_token, p_ok => true))
      from public.notification_claim(p_limit => 5, p_lease_ms => 60000) c`;
  return ended.outcome;
}

interface Snapshot {
  tables: { id: string; min_party_size: number; max_party_size: number }[];
}
