begin;
select plan(29);

-- Messages of this file only: everything else already waiting counts as sent.
update public.notification_outbox set status = 'sent', sent_at = now() where status in ('pending', 'sending');

-- Another booking holds a table over [p_from, p_to) (its window need not be a real stay).
create function pg_temp.hold(p_table uuid, p_from timestamptz, p_to timestamptz) returns void language sql as $$
  insert into public.booking_table_assignments (booking_id, restaurant_id, table_id, during, source, assigned_by)
  select b.id, b.restaurant_id, p_table, tstzrange(p_from, p_to), 'ops', 'tests'
    from (select tests.create_booking(t.restaurant_id, 1, p_from) as id, t.restaurant_id
            from public.restaurant_tables t where t.id = p_table) b;
$$;
-- The alternatives as 'HH24:MI offset tables', the way an operator reads them.
create function pg_temp.offers(p_booking uuid) returns text[] language sql as $$
  select array_agg(to_char((a ->> 'start_at')::timestamptz at time zone 'UTC', 'HH24:MI') || ' ' || (a ->> 'offset_minutes')
                   || ' ' || (select string_agg(n, '+') from jsonb_array_elements_text(a -> 'tables') n) order by o)
    from public.bookings b, jsonb_array_elements(private.seating_alternatives(b)) with ordinality e(a, o)
   where b.id = p_booking;
$$;
create function pg_temp.review(p_booking uuid) returns void language sql as $$
  select tests.force_state(p_booking, 'manual_review',
                           'no_table_fits: no free table or combination seats the party at that time');
$$;

-- 1. Nearest first on the 15-minute grid, an earlier and a later one equally far: the earlier first. T1 is held
-- 19:45–20:00, so a stay of 105 minutes (90 + 15 buffer) fits 60 minutes either side, not closer.
select tests.create_restaurant('Near') as near \gset
select tests.add_table(:'near', 'T1', 4) as near_t1 \gset
select pg_temp.hold(:'near_t1', '2030-01-07 19:45+00', '2030-01-07 20:00+00');
select tests.create_booking(:'near', 2, '2030-01-07 19:00+00') as nb \gset
select is(pg_temp.offers(:'nb'), array['18:00 -60 T1', '20:00 60 T1', '17:45 -75 T1'],
  'the nearest free start times come first, the earlier of two equally near first, at most three');
select is(jsonb_array_length(private.seating_alternatives(b, 20)), 6,
  'with a higher limit every free grid time within ±90 minutes is found: ±60, ±75 and ±90')
  from public.bookings b where b.id = :'nb';
select is((select count(*)::integer from public.bookings b, jsonb_array_elements(private.seating_alternatives(b, 20)) a
            where b.id = :'nb' and (extract(minute from (a ->> 'start_at')::timestamptz) :: integer % 15 <> 0
                                    or abs((a ->> 'offset_minutes')::integer) > 90)), 0,
  'every alternative is on the 15-minute grid and within 90 minutes');

-- An off-grid booking (19:07) is offered grid times; offsets are counted from its own start.
select tests.create_booking(:'near', 2, '2030-01-07 19:07+00') as offgrid \gset
select is(pg_temp.offers(:'offgrid'), array['20:00 53 T1', '18:00 -67 T1', '20:15 68 T1'],
  'a booking off the grid is offered grid times, nearest first');

-- 2. Inside a service period: the restaurant opens at 11:00. E1 is held 12:45–13:00, so 10:00–11:00 would be
-- free, but closed; 11:00 (-30) and 13:00 (+90) are left.
select tests.create_restaurant('Early') as early \gset
select tests.add_table(:'early', 'E1', 4) as early_e1 \gset
select pg_temp.hold(:'early_e1', '2030-01-07 12:45+00', '2030-01-07 13:00+00');
select tests.create_booking(:'early', 2, '2030-01-07 11:30+00') as eb \gset
select is(pg_temp.offers(:'eb'), array['11:00 -30 E1', '13:00 90 E1'],
  'times before opening are never offered, however near and free');

-- 3. Combinations: a party of 4 needs G1+G2 (adjacent, both needed); G1 is held until 20:00.
select tests.create_restaurant('Groups') as grp \gset
select tests.add_table(:'grp', 'G1', 2) as g1 \gset
select tests.add_table(:'grp', 'G2', 2) as g2 \gset
select tests.add_table(:'grp', 'G3', 6) as g3 \gset
insert into public.table_adjacency (restaurant_id, table_a, table_b) values (:'grp', :'g1', :'g2');
update public.restaurant_tables set out_of_service = true where id = :'g3';
select pg_temp.hold(:'g1', '2030-01-07 19:00+00', '2030-01-07 20:00+00');
select tests.create_booking(:'grp', 4, '2030-01-07 19:00+00') as gb \gset
select is(pg_temp.offers(:'gb'), array['20:00 60 G1+G2', '20:15 75 G1+G2', '20:30 90 G1+G2'],
  'a combination is offered once all its tables are free; an out-of-service table never is');
update public.restaurant_tables set out_of_service = false where id = :'g3';
select is(pg_temp.offers(:'gb'), array['18:45 -15 G3', '19:15 15 G3', '18:30 -30 G3'],
  'a single table that fits comes before a combination');
update public.restaurant_tables set out_of_service = true where id = :'g3';

-- 4. None within the window: the queue says so. T1 is held 11:00–12:45, the booking is at 11:07.
select tests.create_restaurant('Full') as full \gset
select tests.add_table(:'full', 'F1', 4) as f1 \gset
select pg_temp.hold(:'f1', '2030-01-07 11:00+00', '2030-01-07 12:45+00');
select tests.create_booking(:'full', 2, '2030-01-07 11:07+00') as fb \gset
select pg_temp.review(:'fb');
select is((select alternatives from ops.manual_review_queue(:'full') where booking_id = :'fb'), '[]'::jsonb,
  'the queue lists no alternative when none is free within ±90 minutes');
select is((select alternatives_note from ops.manual_review_queue(:'full') where booking_id = :'fb'),
  'no alternative within ±90 minutes', 'and says so');

-- The queue shows the alternatives of a booking that nothing fits, and none for a reason time cannot cure.
select pg_temp.review(:'nb');
select is((select alternatives_note from ops.manual_review_queue(:'near') where booking_id = :'nb'),
  '18:00 (-60 min): T1; 20:00 (+60 min): T1; 17:45 (-75 min): T1', 'the queue reads the alternatives out');
select is((select jsonb_path_query_array(alternatives, '$[*].tables') from ops.manual_review_queue(:'near') where booking_id = :'nb'),
  '[["T1"], ["T1"], ["T1"]]'::jsonb, 'with the tables each would get');
select tests.create_booking(:'near', 30, '2030-01-07 19:00+00') as huge \gset
select tests.force_state(:'huge', 'manual_review', 'party_too_large: a party of 30 exceeds the largest possible arrangement (4 seats)');
select is((select array[alternatives::text, alternatives_note] from ops.manual_review_queue(:'near') where booking_id = :'huge'),
  array[null, null]::text[], 'a party too large for any time gets no alternatives');

-- 5. The coordinator.manual_review event carries the alternatives, and no personal data.
select tests.create_booking(:'near', 2, '2030-01-07 19:00+00') as ev \gset
update public.bookings set customer_name = 'Ada Lovelace', customer_email = 'ada@example.com', customer_phone = '+44 20 7946 0000'
 where id = :'ev';
select public.assignment_begin(:'ev') as began \gset
select is(public.assignment_fail(:'ev', (:'began'::jsonb ->> 'lease_token')::uuid, 'no_fit',
                                 'no_table_fits: no free table or combination seats a party of 2') ->> 'outcome',
  'manual_review', 'a booking nothing fits goes to manual review');
select is((select array_agg(to_char((a ->> 'start_at')::timestamptz at time zone 'UTC', 'HH24:MI') || ' '
                            || (a ->> 'offset_minutes') || ' ' || (a -> 'tables')::text || ' '
                            || (select string_agg(k, ',' order by k) from jsonb_object_keys(a) k) order by o)
             from public.observability_events e, jsonb_array_elements(e.context -> 'alternatives') with ordinality x(a, o)
            where e.booking_id = :'ev' and e.event_type = 'coordinator.manual_review'),
  array['18:00 -60 ["T1"] offset_minutes,start_at,tables', '20:00 60 ["T1"] offset_minutes,start_at,tables',
        '17:45 -75 ["T1"] offset_minutes,start_at,tables'],
  'the manual_review event carries the alternatives: start, offset and table numbers, nothing else');
select is((select count(*)::integer from public.observability_events
            where booking_id = :'ev' and (context::text ilike '%lovelace%' or context::text ilike '%example.com%'
                                          or context::text like '%7946%')), 0,
  'and no event of the booking carries personal data');

-- 6. Accepting an alternative: the booking moves, keeps its length, gets the tables, is confirmed, the guest is told.
select ops.accept_alternative(:'nb', '2030-01-07 20:00+00', 'ana') as accepted \gset
select is(array[:'accepted'::jsonb ->> 'outcome', :'accepted'::jsonb ->> 'starts_local',
                 :'accepted'::jsonb ->> 'offset_minutes', :'accepted'::jsonb ->> 'tables'],
  array['confirmed', '2030-01-07 20:00', '60', '["T1"]'], 'accepting answers with the new time and tables');
select is((select array[assignment_state, status, to_char(start_at at time zone 'UTC', 'HH24:MI'), to_char(end_at at time zone 'UTC', 'HH24:MI')]
             from public.bookings where id = :'nb'),
  array['confirmed', 'confirmed', '20:00', '21:30'], 'the booking is confirmed at the new time, its stay as long as before');
select is((select array_agg(t.table_number) from public.booking_table_assignments a
             join public.restaurant_tables t on t.id = a.table_id where a.booking_id = :'nb' and a.released_at is null),
  array['T1'], 'on the alternative''s tables');
select is((select array_agg(kind || ' ' || (payload ->> 'starts_local')) from public.notification_outbox
            where booking_id = :'nb' and status = 'pending'),
  array['booking_confirmed 2030-01-07 20:00'], 'the guest is told the new time');
select is((select context - 'from_start_at' - 'start_at' from public.observability_events
            where booking_id = :'nb' and event_type = 'ops.alternative_accepted'),
  '{"offset_minutes": 60, "tables": ["T1"]}'::jsonb, 'and the operator''s choice is an event');
select is(ops.accept_alternative(:'nb', '2030-01-07 20:00+00', 'ana') ->> 'outcome', 'unchanged',
  'accepting again changes nothing');
select tests.create_booking(:'near', 2, '2030-01-08 13:00+00') as placed \gset
select ops.assign_tables(:'placed', array['T1'], 'ana') ->> 'outcome' as placed_outcome \gset
select is(tests.sqlstate_of(format($$select ops.accept_alternative(%L, '2030-01-08 13:00+00', 'ana')$$, :'placed')),
  'AS001', 'a booking confirmed another way, asked for at its own time, took no alternative: refused, not "unchanged"');

-- A guest who had heard of the old time is told of the change.
select tests.create_booking(:'near', 2, '2030-01-07 13:00+00') as heard \gset
select pg_temp.hold(:'near_t1', '2030-01-07 15:45+00', '2030-01-07 16:00+00');
insert into public.booking_table_assignments (booking_id, restaurant_id, table_id, during, source, assigned_by)
select id, restaurant_id, :'near_t1', private.blocked_window(b), 'ops', 'tests' from public.bookings b where id = :'heard';
select tests.force_state(:'heard', 'confirmed');
update public.notification_outbox set status = 'sent', sent_at = now() where booking_id = :'heard';
update public.bookings set start_at = '2030-01-07 15:00+00', end_at = '2030-01-07 16:30+00' where id = :'heard';
select pg_temp.review(:'heard');
select is(ops.accept_alternative(:'heard', '2030-01-07 14:00+00', 'ana') ->> 'outcome', 'confirmed',
  'a changed booking in review takes an alternative');
select is((select array_agg(kind || ' ' || (payload ->> 'starts_local')) from public.notification_outbox
            where booking_id = :'heard' and status = 'pending'),
  array['booking_changed 2030-01-07 14:00'], 'and its guest is told of the change');

-- 7. A time taken meanwhile is refused with a reason, and nothing is written.
select pg_temp.review(:'gb');
select pg_temp.hold(:'g2', '2030-01-07 20:00+00', '2030-01-07 20:15+00');
select throws_ok(format($$select ops.accept_alternative(%L, '2030-01-07 20:00+00', 'ana')$$, :'gb'), 'AS009',
  'already taken: no free table or combination seats a party of 4 at 2030-01-07 20:00',
  'an alternative taken meanwhile is refused with the reason');
select is((select array[assignment_state, to_char(start_at at time zone 'UTC', 'HH24:MI'),
                        (select count(*) from public.booking_table_assignments a where a.booking_id = :'gb')::text,
                        (select count(*) from public.notification_outbox o where o.booking_id = :'gb')::text]
             from public.bookings where id = :'gb'),
  array['manual_review', '19:00', '0', '0'], 'and nothing is written: same time, no tables, no message');

select throws_ok(format($$select ops.accept_alternative(%L, '2030-01-07 20:05+00', 'ana')$$, :'gb'), 'AS005', null,
  'a time off the grid is not an alternative');
select throws_ok(format($$select ops.accept_alternative(%L, '2030-01-07 21:00+00', 'ana')$$, :'gb'), 'AS005', null,
  'nor is one more than 90 minutes away');
select throws_ok(format($$select ops.accept_alternative(%L, '2030-01-07 12:30+00', 'ana')$$, :'eb'), 'AS001', null,
  'only a booking in manual review takes an alternative');

select * from finish();
rollback;
