-- The review queue says what the guest was told. A confirmed booking can come back to review — its time or
-- party changed and nothing fits now, a floor-plan change broke its tables (20261210140000), its guest's
-- visit was undone (20261210120000), a lost race found no table — and the guest is told nothing until it is
-- settled, so they still hold the confirmation they received. A review of the guest messages found nothing
-- told the operator so: the queue showed the booking as any other. It now shows the last message the guest
-- received (guest_was_told: its kind, the time and party size it gave, or "nothing yet"), so an operator knows
-- whom to call before offering an alternative or cancelling. No personal data: the message's own fields.

-- Body as in 20261210070000, with guest_was_told (a new column: the function is created again).
drop function ops.manual_review_queue(uuid);
create function ops.manual_review_queue(p_restaurant_id uuid default null)
returns table (booking_id uuid, reference text, restaurant text, party_size integer, starts_local text,
               reason_code text, reason text, waiting_since timestamptz, free_tables_that_fit jsonb,
               alternatives jsonb, alternatives_note text, guest_was_told text)
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
                      from pg_catalog.jsonb_array_elements(x.alternatives) with ordinality e(a, o)) end,
         -- The last message the guest received (or is receiving): what they believe until someone tells them
         -- otherwise. One sent or sending message is taken; pending ones may never go out.
         coalesce((select pg_catalog.format('%s: %s, party of %s', o.kind, o.payload ->> 'starts_local',
                                            o.payload ->> 'party_size')
                     from public.notification_outbox o
                    where o.booking_id = b.id and o.status in ('sent', 'sending')
                    order by o.seq desc limit 1), 'nothing yet')
    from public.bookings b join public.restaurants r on r.id = b.restaurant_id,
         lateral (select case when private.time_may_cure(b.manual_review_reason)
                              then private.seating_alternatives(b) end as alternatives) x
   where b.assignment_state = 'manual_review' and (p_restaurant_id is null or b.restaurant_id = p_restaurant_id)
   order by b.start_at;
$$;

grant execute on function ops.manual_review_queue(uuid) to service_role;
revoke all on function ops.manual_review_queue(uuid) from public, anon, authenticated;

comment on function ops.manual_review_queue(uuid) is
  'Bookings waiting for an operator, soonest first, with the reason and the free tables (or combinations of adjacent tables) that would seat them now. For a booking in review because nothing fits at its time (no_table_fits, exact_search_budget_exhausted, outside_service_hours): alternatives, up to three nearest start times within ±90 minutes on the 15-minute grid with the tables each would get (take one with ops.accept_alternative), and alternatives_note, the same in words or "no alternative within ±90 minutes". guest_was_told: the last message the guest received (e.g. "booking_confirmed: 2030-10-07 18:00, party of 2"), or "nothing yet": a guest holding a confirmation should hear from the restaurant.';
