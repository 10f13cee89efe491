-- The manual-review queue suggests only tables an operator can take. A review of the ops calls found it
-- listed free tables for a booking in review because its stay is outside service hours, which
-- ops.assign_tables then refused, and kept the first ten options found rather than the ten best (now the best
-- ten of every single table and the first hundred combinations found, fewer tables first); and a review
-- of the engine found combinations kept only while their smallest table was needed, so a small table joining
-- two large ones (4 + 2 + 4 for eight) was never offered, by the engine or here. The engine now keeps a
-- combination when every table is needed for seats or for the join (shared/engine/candidates.ts); the queue
-- uses the same rule.

-- Whether a party needs every table of a connected group: without any one, too few seats, or the rest of the
-- group no longer joined (through the restaurant's adjacency).
create function private.every_table_needed(p_restaurant_id uuid, p_table_ids uuid[], p_seats integer, p_party integer)
returns boolean language sql stable set search_path = '' as $$
  select not exists (
    select 1 from public.restaurant_tables left_out
     where left_out.id = any(p_table_ids) and p_seats - left_out.capacity >= p_party
       and (with recursive rest(id) as (select x from pg_catalog.unnest(p_table_ids) x where x <> left_out.id limit 1)
            , reach(id) as (
                select id from rest
                union
                select case when a.table_a = r.id then a.table_b else a.table_a end
                  from reach r join public.table_adjacency a
                    on a.restaurant_id = p_restaurant_id and (a.table_a = r.id or a.table_b = r.id)
                 where (case when a.table_a = r.id then a.table_b else a.table_a end) = any(p_table_ids)
                   and (case when a.table_a = r.id then a.table_b else a.table_a end) <> left_out.id)
            select count(*) from reach) = pg_catalog.cardinality(p_table_ids) - 1);
$$;

-- Whether another start time may cure a review's reason: the reasons private.fixable_by_time names (nothing
-- fits, the search could not tell, outside service hours), as themselves or as the last failure of attempts
-- that ran out — which legacy's no-fits always are. The queue shows those bookings alternatives too; the
-- escalation event keeps fixable_by_time's narrower rule, since it searches under the restaurant lock when
-- attempts run out (20261207010000), and legacy's events keep the first implementation's keys.
create function private.time_may_cure(p_reason text)
returns boolean language sql immutable set search_path = '' as $$
  select private.fixable_by_time(p_reason)
      or (pg_catalog.split_part(p_reason, ':', 1) = 'attempts_exhausted'
          and private.fixable_by_time(pg_catalog.substr(p_reason, pg_catalog.strpos(p_reason, '; last: ') + 8))
          and pg_catalog.strpos(p_reason, '; last: ') > 0);
$$;

-- Body as in 20261202200000, with the suggested tables above, and alternatives wherever time may cure.

create or replace function ops.manual_review_queue(p_restaurant_id uuid default null)
returns table (booking_id uuid, reference text, restaurant text, party_size integer, starts_local text,
               reason_code text, reason text, waiting_since timestamptz, free_tables_that_fit jsonb,
               alternatives jsonb, alternatives_note text)
language sql stable security definer set search_path = '' as $$
  select b.id, b.reference, r.name, b.party_size,
         pg_catalog.to_char(b.start_at at time zone r.timezone, 'YYYY-MM-DD HH24:MI'),
         pg_catalog.split_part(b.manual_review_reason, ':', 1), b.manual_review_reason,
         (select max(h.created_at) from public.booking_assignment_state_history h
           where h.booking_id = b.id and h.to_state = 'manual_review'),
         -- Tables an operator can take with ops.assign_tables now: none while the stay is outside service hours
         -- (assign_tables would refuse them); else free single tables that seat the party, least waste first,
         -- then free combinations the rules allow (private.table_groups) in which every table is needed —
         -- without any one of them too few seats, or the rest no longer joined; of these the first hundred
         -- found (fewer tables first) are ranked. Ten at most, least waste first.
         case when private.service_hours_problem(b) is not null then '[]'::jsonb else coalesce((
           select pg_catalog.jsonb_agg(o.option order by o.rank, o.option)
             from ((select pg_catalog.jsonb_build_array(t.table_number) as option, t.capacity - b.party_size as rank
                      from private.usable_tables(b.restaurant_id) t
                     where b.party_size between t.min_party_size and t.max_party_size
                       and private.busy_tables(b, array[t.id]) is null
                     order by 2 limit 10)
                   union all
                   (select (select pg_catalog.jsonb_agg(t.table_number order by t.table_number)
                              from public.restaurant_tables t where t.id = any(g.table_ids)),
                           100 * pg_catalog.cardinality(g.table_ids) + g.seats - b.party_size
                      from private.table_groups(b.restaurant_id,
                             (private.settings_for(b.restaurant_id)).max_tables_per_booking) g
                     where g.seats >= b.party_size
                       and private.every_table_needed(b.restaurant_id, g.table_ids, g.seats, b.party_size)
                       and private.busy_tables(b, g.table_ids) is null
                     limit 100)
                   order by 2 limit 10) o), '[]'::jsonb) end,
         x.alternatives,
         case when x.alternatives is null then null
              when pg_catalog.jsonb_array_length(x.alternatives) = 0 then 'no alternative within ±90 minutes'
              else (select pg_catalog.string_agg(pg_catalog.format('%s (%s%s min): %s',
                             pg_catalog.right(a ->> 'starts_local', 5),
                             case when (a ->> 'offset_minutes')::integer > 0 then '+' else '' end,
                             a ->> 'offset_minutes',
                             (select pg_catalog.string_agg(n, '+') from pg_catalog.jsonb_array_elements_text(a -> 'tables') n)),
                             '; ' order by o)
                      from pg_catalog.jsonb_array_elements(x.alternatives) with ordinality e(a, o)) end
    from public.bookings b join public.restaurants r on r.id = b.restaurant_id,
         lateral (select case when private.time_may_cure(b.manual_review_reason)
                              then private.seating_alternatives(b) end as alternatives) x
   where b.assignment_state = 'manual_review' and (p_restaurant_id is null or b.restaurant_id = p_restaurant_id)
   order by b.start_at;
$$;

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
