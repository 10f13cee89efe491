-- Review alternatives that re-seat other bookings (20261211000000): what the coordinator may store, what the
-- queue shows, and that accepting one re-checks every move under the lock and writes nothing when it fails.
begin;
select plan(31);

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
create function pg_temp.sqlstate_of(p_sql text) returns text language plpgsql as $$
begin
  execute p_sql;
  return null;
exception when others then
  return sqlstate;
end $$;
grant execute on function pg_temp.sqlstate_of(text) to service_role;

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
select ok(private.nudge_reseating(:'rid'), 'a sweep sends the function a review waiting for its search');
select is((select body ->> 'trigger' || ' ' || (body ->> 'booking_id') from posted), 'reseating ' || :'four',
  'the review itself, with trigger reseating');

-- A restaurant with a booking waiting is left alone.
select tests.create_booking(:'rid', 2, '2030-06-04 19:00+00') as waiting \gset
select ok(not (:'four' = any(public.review_reseating_due(10, :'rid'))) and public.review_reseating_probes(:'four') ->> 'reason' = 'restaurant_busy',
  'not while a booking of its restaurant waits');
select tests.force_state(:'waiting', 'cancelled');

-- Offers are checked before they are stored; a malformed one is refused with AS005 (never a raw error).
select private.review_key(b) as key from public.bookings b where b.id = :'four' \gset
select jsonb_build_object('booking_id', :'couple'::uuid, 'from_table_ids', jsonb_build_array(:'t2'::uuid),
                          'to_table_ids', jsonb_build_array(:'t1'::uuid)) as move \gset
create temp table bad_offers (why text, offer jsonb);
insert into bad_offers values
  ('off the alternatives'' grid', jsonb_build_object('start_at', '2030-06-03 19:05+00', 'table_ids', jsonb_build_array(:'t2'::uuid), 'moves', jsonb_build_array(:'move'::jsonb))),
  ('a start that is not a time', jsonb_build_object('start_at', '2030-06-03 19:15 Foo/Bar', 'table_ids', jsonb_build_array(:'t2'::uuid), 'moves', jsonb_build_array(:'move'::jsonb))),
  ('no move', jsonb_build_object('start_at', '2030-06-03 19:15+00', 'table_ids', jsonb_build_array(:'t2'::uuid), 'moves', '[]'::jsonb)),
  ('no moves at all', jsonb_build_object('start_at', '2030-06-03 19:15+00', 'table_ids', jsonb_build_array(:'t2'::uuid))),
  ('a table id that is not a UUID', jsonb_build_object('start_at', '2030-06-03 19:15+00', 'table_ids', '["not-a-uuid"]'::jsonb, 'moves', jsonb_build_array(:'move'::jsonb))),
  ('a move to no table', jsonb_build_object('start_at', '2030-06-03 19:15+00', 'table_ids', jsonb_build_array(:'t2'::uuid), 'moves', jsonb_build_array(jsonb_set(:'move'::jsonb, '{to_table_ids}', '[]')))),
  ('a move without its tables', jsonb_build_object('start_at', '2030-06-03 19:15+00', 'table_ids', jsonb_build_array(:'t2'::uuid), 'moves', jsonb_build_array(:'move'::jsonb - 'from_table_ids'))),
  ('a move of the booking itself', jsonb_build_object('start_at', '2030-06-03 19:15+00', 'table_ids', jsonb_build_array(:'t2'::uuid), 'moves', jsonb_build_array(jsonb_set(:'move'::jsonb, '{booking_id}', to_jsonb(:'four'::uuid))))),
  ('a move of a booking id that is not a UUID', jsonb_build_object('start_at', '2030-06-03 19:15+00', 'table_ids', jsonb_build_array(:'t2'::uuid), 'moves', jsonb_build_array(jsonb_set(:'move'::jsonb, '{booking_id}', '"x"')))),
  ('not an object', '1'::jsonb);
select tests.add_table(tests.create_restaurant('Elsewhere'), 'X1', 4) as foreign_table \gset
select tests.create_booking((select restaurant_id from public.restaurant_tables where id = :'foreign_table'), 2, '2030-06-03 19:00+00') as foreign_booking \gset
insert into bad_offers values
  ('another restaurant''s table', jsonb_build_object('start_at', '2030-06-03 19:15+00', 'table_ids', jsonb_build_array(:'foreign_table'::uuid), 'moves', jsonb_build_array(:'move'::jsonb))),
  ('a move to another restaurant''s table', jsonb_build_object('start_at', '2030-06-03 19:15+00', 'table_ids', jsonb_build_array(:'t2'::uuid), 'moves', jsonb_build_array(jsonb_set(:'move'::jsonb, '{to_table_ids}', jsonb_build_array(:'foreign_table'::uuid))))),
  ('a move of another restaurant''s booking', jsonb_build_object('start_at', '2030-06-03 19:15+00', 'table_ids', jsonb_build_array(:'t2'::uuid), 'moves', jsonb_build_array(jsonb_set(:'move'::jsonb, '{booking_id}', to_jsonb(:'foreign_booking'::uuid)))));
grant select on bad_offers to service_role;
set local role service_role;
select is((select string_agg(o.why, ', ' order by o.why) from bad_offers o
            where pg_temp.sqlstate_of(format('select public.review_offer_reseating(%L, %L, %L)', :'four', :'key', jsonb_build_array(o.offer)))
                  is distinct from 'AS005'),
  null, 'every malformed offer is refused with AS005');
select throws_ok(format($$select public.review_offer_reseating(%L, %L, '[1, 2, 3, 4]')$$, :'four', :'key'),
  'AS005', null, 'more than three offers are refused');
select is(public.review_offer_reseating(:'four', :'key' || '/earlier', '[]') ->> 'outcome', 'stale',
  'an offer for another review of the booking is not stored');

-- The search found: at 19:15 the four take the 4-top once the couple moves to the 2-top.
select is(public.review_offer_reseating(:'four', :'key', jsonb_build_array(jsonb_build_object(
            'start_at', '2030-06-03 19:15+00', 'table_ids', jsonb_build_array(:'t2'::uuid),
            'moves', jsonb_build_array(:'move'::jsonb)))) ->> 'outcome', 'stored', 'a well-formed offer is stored');
reset role;
select ok(not (:'four' = any(public.review_reseating_due(10, :'rid'))), 'and the review is not searched again');
select is((select q.alternatives_note from ops.manual_review_queue(:'rid') q where q.booking_id = :'four'),
  '19:15 (+15 min): T2, moving 1 booking', 'the queue offers it, saying it moves a booking');
select is((select a -> 'moves' -> 0 -> 'to' from ops.manual_review_queue(:'rid') q, jsonb_array_elements(q.alternatives) a
            where q.booking_id = :'four'), '["T1"]'::jsonb, 'with the tables the booking moves to');
select is((select e.context -> 'alternatives' -> 0 ->> 'moved_bookings' from public.observability_events e
            where e.booking_id = :'four' and e.event_type = 'coordinator.reseating_alternatives'), '1',
  'the search is recorded as coordinator.reseating_alternatives');

-- A couple placed by staff may not be moved: refused as no longer possible.
update public.booking_table_assignments set source = 'ops' where booking_id = :'couple';
select throws_like(format($$select ops.accept_alternative(%L, '2030-06-03 19:15+00', 'ana')$$, :'four'),
  '%re-seating this alternative needs is no longer possible%', 'a booking placed by staff is not moved (AS009)');
update public.booking_table_assignments set source = 'auto' where booking_id = :'couple';

-- Taken meanwhile: a walk-in sits at the 2-top, so the couple cannot move there.
select tests.create_booking(:'rid', 2, '2030-06-03 19:00+00') as walk_in \gset
insert into public.booking_table_assignments (booking_id, restaurant_id, table_id, during, source, assigned_by)
values (:'walk_in', :'rid', :'t1', tstzrange('2030-06-03 19:00+00', '2030-06-03 20:45+00'), 'ops', 'tests');
select throws_like(format($$select ops.accept_alternative(%L, '2030-06-03 19:15+00', 'ana')$$, :'four'),
  '%re-seating this alternative needs is no longer possible%', 'a move whose table was taken is refused (AS009)');
delete from public.booking_table_assignments where booking_id = :'walk_in';
select tests.force_state(:'walk_in', 'cancelled');

-- Accepted: the couple moves first, then the four are seated at 19:15 and confirmed.
select is(ops.accept_alternative(:'four', '2030-06-03 19:15+00', 'ana') ->> 'moved_bookings', '1',
  'accepting it moves the couple');
select is(array[tests.tables_held(:'couple'), tests.tables_held(:'four'),
                (select assignment_state || ' ' || to_char(start_at at time zone 'UTC', 'HH24:MI') from public.bookings where id = :'four')],
  array['T1', 'T2', 'confirmed 19:15'], 'to the 2-top, and seats the four on the 4-top at 19:15');
select is((select string_agg(distinct a.source || ' by ' || a.assigned_by, ', ') from public.booking_table_assignments a
            where a.booking_id = :'couple' and a.released_at is null), 'auto by ana',
  'the couple''s new hold names the operator, and may still be moved by the engine');
select is((select e.context ->> 'moved_bookings' from public.observability_events e
            where e.booking_id = :'four' and e.event_type = 'ops.alternative_accepted'), '1',
  'ops.alternative_accepted says one booking moved');

-- Two moves onto one table at once (no search finds that, a caller might send it), and an offer that belongs
-- to its review.
select tests.create_booking(:'rid', 4, '2030-06-05 19:00+00') as later \gset
select pg_temp.auto_confirmed(:'rid', 2, '2030-06-05 19:00+00', :'t2') as c1 \gset
select pg_temp.auto_confirmed(:'rid', 1, '2030-06-05 19:00+00', :'t1') as c2 \gset
select tests.force_state(:'later', 'manual_review', 'no_table_fits: none');
select private.review_key(b) as later_key from public.bookings b where b.id = :'later' \gset
set local role service_role;
select is(public.review_offer_reseating(:'later', :'later_key', jsonb_build_array(jsonb_build_object(
            'start_at', '2030-06-05 19:15+00', 'table_ids', jsonb_build_array(:'t2'::uuid),
            'moves', jsonb_build_array(
              jsonb_build_object('booking_id', :'c1'::uuid, 'from_table_ids', jsonb_build_array(:'t2'::uuid),
                                 'to_table_ids', jsonb_build_array(:'t1'::uuid)),
              jsonb_build_object('booking_id', :'c2'::uuid, 'from_table_ids', jsonb_build_array(:'t1'::uuid),
                                 'to_table_ids', jsonb_build_array(:'t1'::uuid)))))) ->> 'outcome',
  'stored', 'an offer whose two moves need one table is stored');
reset role;
select is((select q.alternatives_note from ops.manual_review_queue(:'rid') q where q.booking_id = :'later'),
  '19:15 (+15 min): T2, moving 2 bookings', 'and offered');
select throws_like(format($$select ops.accept_alternative(%L, '2030-06-05 19:15+00', 'ana')$$, :'later'),
  '%two of its moves need the same table at the same time%', 'accepting it is refused (AS009), not a raw exclusion error');
-- (A change the platform makes sends the booking to be planned again, 20261227210000: asked of the row it would be.)
select ok((select private.current_reseating_offers(jsonb_populate_record(b, '{"buffer_before_minutes": 5}'))
             is null from public.bookings b where b.id = :'later'),
  'a change to the booking in review hides the offers found before it');
select is((select count(distinct private.review_key(jsonb_populate_record(b, v.x::jsonb)))::int
             from public.bookings b,
                  (values ('{}'), ('{"start_at": "2030-06-05 19:30+00"}'), ('{"end_at": "2030-06-05 21:00+00"}'),
                          ('{"party_size": 3}'), ('{"buffer_before_minutes": 5}'), ('{"buffer_after_minutes": 30}'),
                          ('{"assignment_state_version": 99}')) v(x)
            where b.id = :'later'), 7, 'so does any change to its time, stay, buffers, party or state');

-- A restaurant taken off V3 (legacy, shadow, off) shows no re-seating offer and gets no search.
select ops.set_restaurant_mode(:'rid', 'legacy', 'ana', 'rollback') ->> 'mode' as mode \gset
select ok((select private.current_reseating_offers(b) is null from public.bookings b where b.id = :'later')
          and not (:'later' = any(public.review_reseating_due(10, :'rid')))
          and public.review_reseating_probes(:'later') ->> 'reason' = 'not_on_v3',
  'a restaurant taken off V3 shows no re-seating offer and is not searched');
select ops.set_restaurant_mode(:'rid', 'v3', 'ana', 'rollout') ->> 'mode' as mode \gset
select tests.force_state(:'later', 'assignment_pending');
select tests.force_state(:'later', 'manual_review', 'no_table_fits: none');
select is((select q.alternatives from ops.manual_review_queue(:'rid') q where q.booking_id = :'later'), '[]'::jsonb,
  'a new review shows no offer found for an earlier one');
select throws_ok(format($$select ops.accept_alternative(%L, '2030-06-05 19:15+00', 'ana')$$, :'later'), 'AS009', null,
  'and accepting that time is refused as taken');

-- The sweeper sends a review whose search is never stored three times, 20 seconds apart at least, then lets it
-- rest (ten minutes, 20261231230000).
select array[private.nudge_reseating(:'rid'), private.nudge_reseating(:'rid')] as first_two \gset
update private.reseating_nudges set last_at = last_at - interval '1 minute' where booking_id = :'later';
select private.nudge_reseating(:'rid') as second \gset
update private.reseating_nudges set last_at = last_at - interval '1 minute' where booking_id = :'later';
select private.nudge_reseating(:'rid') as third \gset
update private.reseating_nudges set last_at = last_at - interval '1 minute' where booking_id = :'later';
select is(array[:'first_two', :'second', :'third', private.nudge_reseating(:'rid')::text],
  array['{t,f}', 't', 't', 'false'], 'sent once per 20 seconds, three times in all');
select ok(not (:'later' = any(public.review_reseating_due(10, :'rid'))), 'and no longer searched after a drain either');

select * from finish();
rollback;
