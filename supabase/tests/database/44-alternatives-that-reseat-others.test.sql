-- Review alternatives that re-seat other bookings (20261211000000): what the coordinator may store, what the
-- queue shows, and that accepting one re-checks every move under the lock and writes nothing when it fails.
begin;
select plan(26);

-- A booking confirmed by the pipeline (its holds are the pipeline's own, so it may be moved).
create function pg_temp.auto_confirmed(p_restaurant uuid, p_party integer, p_start timestamptz, p_table uuid)
returns uuid language plpgsql as $$
declare new_id uuid := tests.create_booking(p_restaurant, p_party, p_start);
begin
  insert into public.booking_table_assignments (booking_id, restaurant_id, table_id, during, source, assigned_by)
  select b.id, b.restaurant_id, p_table, private.blocked_window(b), 'auto', 'coordinator' from public.bookings b where b.id = new_id;
  perform tests.force_state(new_id, 'confirmed');
  return new_id;
end $$;
create function pg_temp.held(p_booking uuid) returns text language sql as $$
  select string_agg(t.table_number, '+' order by t.table_number)
    from public.booking_table_assignments a join public.restaurant_tables t on t.id = a.table_id
   where a.booking_id = p_booking and a.released_at is null;
$$;

-- A 2-top and a 4-top. A couple holds the 4-top 19:00–20:45, so four guests at 19:00 fit at no time within
-- ±90 minutes — unless the couple moves to the 2-top.
select tests.create_restaurant('Reseat') as rid \gset
select tests.add_table(:'rid', 'T1', 2) as t1 \gset
select tests.add_table(:'rid', 'T2', 4) as t2 \gset
select pg_temp.auto_confirmed(:'rid', 2, '2030-06-03 19:00+00', :'t2') as couple \gset
select tests.create_booking(:'rid', 4, '2030-06-03 19:00+00') as four \gset
select tests.force_state(:'four', 'manual_review', 'no_table_fits: no free table or combination seats the party');
select is((select q.alternatives from ops.manual_review_queue(:'rid') q where q.booking_id = :'four'), '[]'::jsonb,
  'no free table seats the four at any time within ±90 minutes');

-- What the coordinator's search gets, as service_role.
set local role service_role;
select ok(:'four' = any(public.review_reseating_due(10, :'rid')), 'the review is due for a re-seating search');
select public.review_reseating_probes(:'four') as probes \gset
select is(jsonb_array_length(:'probes'::jsonb -> 'probes'), 12, 'every grid time within ±90 minutes is a time to try');
select is((select jsonb_agg(p -> 'locked') from jsonb_array_elements(:'probes'::jsonb -> 'snapshot' -> 'placed') p),
  '[false]'::jsonb, 'the snapshot shows the couple as a booking that may move, re-optimisation being off');
reset role;

-- While reviews wait for a search, a sweep sends the function one, as a request of its own.
create temp table posted (body jsonb);
create or replace function net.http_post(
  url text, body jsonb default '{}'::jsonb, params jsonb default '{}'::jsonb,
  headers jsonb default '{"Content-Type": "application/json"}'::jsonb,
  timeout_milliseconds integer default 5000
) returns bigint language plpgsql as $$
begin
  insert into pg_temp.posted values (body);
  return 1;
end $$;
select ok(private.nudge_reseating(), 'a sweep sends the function a review waiting for its search');
select is((select body ->> 'trigger' from posted), 'reseating', 'with trigger reseating')
  from (select (public.review_reseating_due(1))[1] as first) d
 where (select (body ->> 'booking_id')::uuid from posted) = d.first;

-- A restaurant with a booking waiting is left alone.
select tests.create_booking(:'rid', 2, '2030-06-04 19:00+00') as waiting \gset
select ok(not (:'four' = any(public.review_reseating_due(10, :'rid'))) and public.review_reseating_probes(:'four') ->> 'reason' = 'restaurant_busy',
  'not while a booking of its restaurant waits');
select tests.force_state(:'waiting', 'cancelled');

-- Offers are checked before they are stored.
set local role service_role;
select throws_ok(format($$select public.review_offer_reseating(%L, %s, '[{"start_at": "2030-06-03 19:05+00", "table_ids": [%I], "moves": [{"booking_id": %I, "from_table_ids": [%I], "to_table_ids": [%I]}]}]')$$,
                        :'four', tests.version_of(:'four'), :'t2', :'couple', :'t2', :'t1'), 'AS005', null,
  'an offer off the alternatives'' grid is refused');
select throws_ok(format($$select public.review_offer_reseating(%L, %s, '[{"start_at": "2030-06-03 19:15+00", "table_ids": [%I], "moves": []}]')$$,
                        :'four', tests.version_of(:'four'), :'t2'), 'AS005', null, 'an offer with no move is refused');
select throws_ok(format($$select public.review_offer_reseating(%L, %s, '[{"start_at": "2030-06-03 19:15+00", "table_ids": ["not-a-uuid"], "moves": [{}]}]')$$,
                        :'four', tests.version_of(:'four')), 'AS005', null, 'an id that is not a UUID is refused');
select throws_ok(format($$select public.review_offer_reseating(%L, %s, '[1, 2, 3, 4]')$$, :'four', tests.version_of(:'four')),
  'AS005', null, 'more than three offers are refused');
select is(public.review_offer_reseating(:'four', tests.version_of(:'four') - 1, '[]') ->> 'outcome', 'stale',
  'an offer for an earlier state of the booking is not stored');
reset role;
select tests.add_table(tests.create_restaurant('Elsewhere'), 'X1', 4) as foreign_table \gset
set local role service_role;
select throws_ok(format($$select public.review_offer_reseating(%L, %s, '[{"start_at": "2030-06-03 19:15+00", "table_ids": [%I], "moves": [{"booking_id": %I, "from_table_ids": [%I], "to_table_ids": [%I]}]}]')$$,
                        :'four', tests.version_of(:'four'), :'foreign_table', :'couple', :'t2', :'t1'), 'AS005', null,
  'an offer of another restaurant''s table is refused');
reset role;
select is((select count(*)::integer from private.reseating_offers where booking_id = :'four'), 0, 'and nothing was stored');
set local role service_role;

-- The search found: at 19:15 the four take the 4-top once the couple moves to the 2-top.
select is(public.review_offer_reseating(:'four', tests.version_of(:'four'), format(
            '[{"start_at": "2030-06-03 19:15+00", "table_ids": [%I], "moves": [{"booking_id": %I, "from_table_ids": [%I], "to_table_ids": [%I]}]}]',
            :'t2', :'couple', :'t2', :'t1')::jsonb) ->> 'outcome', 'stored', 'a well-formed offer is stored');
reset role;
select ok(not (:'four' = any(public.review_reseating_due(10, :'rid'))), 'and the review is not searched again');
select is((select q.alternatives_note from ops.manual_review_queue(:'rid') q where q.booking_id = :'four'),
  '19:15 (+15 min): T2, moving 1 booking', 'the queue offers it, saying it moves a booking');
select is((select a -> 'moves' -> 0 -> 'to' from ops.manual_review_queue(:'rid') q, jsonb_array_elements(q.alternatives) a
            where q.booking_id = :'four'), '["T1"]'::jsonb, 'with the tables the booking moves to');
select is((select e.context -> 'alternatives' -> 0 ->> 'moved_bookings' from public.observability_events e
            where e.booking_id = :'four' and e.event_type = 'coordinator.reseating_alternatives'), '1',
  'the search is recorded as coordinator.reseating_alternatives');

-- Taken meanwhile: a walk-in sits at the 2-top, so the couple cannot move there. Refused, nothing written.
select tests.create_booking(:'rid', 2, '2030-06-03 19:00+00') as walk_in \gset
insert into public.booking_table_assignments (booking_id, restaurant_id, table_id, during, source, assigned_by)
values (:'walk_in', :'rid', :'t1', tstzrange('2030-06-03 19:00+00', '2030-06-03 20:45+00'), 'ops', 'tests');
select throws_like(format($$select ops.accept_alternative(%L, '2030-06-03 19:15+00', 'ana')$$, :'four'),
  '%re-seating this alternative needs is no longer possible%', 'a move that is no longer possible is refused (AS009)');
select is(array[pg_temp.held(:'couple'), (select assignment_state from public.bookings where id = :'four')],
  array['T2', 'manual_review'], 'and nothing moved');
delete from public.booking_table_assignments where booking_id = :'walk_in';

-- Accepted: the couple moves first, then the four are seated at 19:15 and confirmed.
select is(ops.accept_alternative(:'four', '2030-06-03 19:15+00', 'ana') ->> 'moved_bookings', '1',
  'accepting it moves the couple');
select is(array[pg_temp.held(:'couple'), pg_temp.held(:'four'),
                (select assignment_state || ' ' || to_char(start_at at time zone 'UTC', 'HH24:MI') from public.bookings where id = :'four')],
  array['T1', 'T2', 'confirmed 19:15'], 'to the 2-top, and seats the four on the 4-top at 19:15');
select is((select e.context ->> 'moved_bookings' from public.observability_events e
            where e.booking_id = :'four' and e.event_type = 'ops.alternative_accepted'), '1',
  'ops.alternative_accepted says one booking moved');

-- An offer belongs to its review: once the booking leaves it, the offer is gone from the queue and from accepting.
select tests.create_booking(:'rid', 4, '2030-06-05 19:00+00') as later \gset
select pg_temp.auto_confirmed(:'rid', 2, '2030-06-05 19:00+00', :'t2') as other_couple \gset
select tests.force_state(:'later', 'manual_review', 'no_table_fits: none');
set local role service_role;
select public.review_offer_reseating(:'later', tests.version_of(:'later'), format(
  '[{"start_at": "2030-06-05 19:15+00", "table_ids": [%I], "moves": [{"booking_id": %I, "from_table_ids": [%I], "to_table_ids": [%I]}]}]',
  :'t2', :'other_couple', :'t2', :'t1')::jsonb) ->> 'outcome' as stored \gset
reset role;
select tests.force_state(:'later', 'assignment_pending');
select tests.force_state(:'later', 'manual_review', 'no_table_fits: none');
select is((select q.alternatives from ops.manual_review_queue(:'rid') q where q.booking_id = :'later'), '[]'::jsonb,
  'a new review shows no offer found for an earlier one');
select throws_ok(format($$select ops.accept_alternative(%L, '2030-06-05 19:15+00', 'ana')$$, :'later'), 'AS009', null,
  'and accepting that time is refused as taken');

select * from finish();
rollback;
