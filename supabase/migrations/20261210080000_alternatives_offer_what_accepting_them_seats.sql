-- Alternatives offer what accepting them seats. A review of the alternatives found:
--   * the search (private.seating_options) kept a combination only while its smallest table was needed, so
--     a small table joining two large ones was never offered, where the engine and the queue now offer it
--     (20261210070000): it uses the same rule, private.every_table_needed;
--   * the search tried each start time with the booking's stored buffers, but accepting moves the booking and
--     the turn policy puts the policy's buffers back (private.reapply_turn_policy), so an alternative free
--     only without the stored buffers was refused as taken, and one needing larger buffers was confirmed with
--     smaller ones. The moved booking the search tries now carries the policy's buffers, as accepting will;
--   (A booking whose attempts ran out on a no-fit gets its alternatives in the queue, 20261210070000.)

-- Body as in 20261204010000, with combinations kept when every table is needed for seats or for the join.
create or replace function private.seating_options(b public.bookings)
 returns jsonb
 language plpgsql
 stable
 set search_path = ''
as $$
#variable_conflict use_column
declare
  result jsonb;
begin
  select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('ids', o.ids, 'numbers', o.numbers)
                                         order by o.rank, o.numbers), '[]'::jsonb)
      from (
        select pg_catalog.to_jsonb(array[t.id]) as ids, pg_catalog.to_jsonb(array[t.table_number]) as numbers,
               t.capacity - b.party_size as rank
          from private.usable_tables(b.restaurant_id) t
         where b.party_size between t.min_party_size and t.max_party_size
        union all
        select pg_catalog.to_jsonb(g.table_ids),
               (select pg_catalog.to_jsonb(pg_catalog.array_agg(t.table_number order by t.table_number))
                  from public.restaurant_tables t where t.id = any(g.table_ids)),
               100 * pg_catalog.cardinality(g.table_ids) + g.seats - b.party_size
          from private.table_groups(b.restaurant_id, (private.settings_for(b.restaurant_id)).max_tables_per_booking) g
         where g.seats >= b.party_size
           and private.every_table_needed(b.restaurant_id, g.table_ids, g.seats, b.party_size)) o
    into result;
  return result;
end $$;

-- The booking as it would be at another start: the same length, the turn policy's buffers (accepting an
-- alternative re-applies them).
create or replace function private.moved_to(b public.bookings, p_start_at timestamptz)
returns public.bookings language plpgsql stable set search_path = '' as $$
begin
  b.end_at := p_start_at + (b.end_at - b.start_at);
  b.start_at := p_start_at;
  return private.apply_turn_policy(b, false);
end $$;


-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
