-- A floor plan written back as it was plans no review again (20261231260000): a review the coordinator's
-- "nothing fits" made keeps what it was said of, and the re-check leaves it while that is what it would be said
-- of now, however the floor plan was rewritten; a floor plan, setting, request or neighbour's hold changed
-- since, in any way, plans it again, and so does a re-check that sends a booking off its tables. The platform writes its floor
-- plan through the Data API, so as service_role; the coordinator's calls run as the function makes them.
begin;
select plan(19);

-- A booking the coordinator sends to review: leased, then "nothing fits" said on its snapshot.
create function pg_temp.reviewed(p_restaurant uuid, p_party integer, p_start timestamptz) returns uuid
language plpgsql as $$
declare
  id uuid := tests.create_booking(p_restaurant, p_party, p_start);
  lease uuid := tests.lease_token(public.assignment_begin(id));
begin
  perform public.assignment_fail(id, lease, 'no_fit',
    pg_catalog.format('no_table_fits: no free table or combination seats a party of %s', p_party));
  return id;
end $$;
create function pg_temp.replanned(p_restaurant uuid) returns integer language sql as $$
  select (private.replan_broken_holds(p_restaurant, now()) ->> 'replanned')::int;
$$;
-- A platform's sync: every service period and pair of the restaurant deleted and inserted again as it was.
create function pg_temp.sync(p_restaurant uuid) returns void language plpgsql as $$
begin
  set local role service_role;
  create temp table hours on commit drop as select restaurant_id, name, day_of_week, starts_at, ends_at
    from public.service_periods where restaurant_id = p_restaurant;
  create temp table pairs on commit drop as select restaurant_id, table_a, table_b
    from public.table_adjacency where restaurant_id = p_restaurant;
  delete from public.service_periods where restaurant_id = p_restaurant;
  delete from public.table_adjacency where restaurant_id = p_restaurant;
  insert into public.service_periods (restaurant_id, name, day_of_week, starts_at, ends_at) select * from hours;
  insert into public.table_adjacency (restaurant_id, table_a, table_b) select * from pairs;
  drop table hours;
  drop table pairs;
  reset role;
end $$;

-- Two 2-tops, one joined to the 4-top a couple holds at 19:00: four guests fit nowhere then.
select tests.create_restaurant('Synced') as rid \gset
select tests.add_table(:'rid', 'S0', 2) as s0 \gset
select tests.add_table(:'rid', 'S1', 2) as s1 \gset
select tests.add_table(:'rid', 'S2', 4) as s2 \gset
insert into public.table_adjacency (restaurant_id, table_a, table_b) values (:'rid', :'s0', :'s2');
select tests.confirmed_on(:'rid', 2, '2030-09-01 19:00+00', :'s2') is not null as couple \gset
select pg_temp.reviewed(:'rid', 4, '2030-09-01 19:00+00') as four \gset
select is((select assignment_state from public.bookings where id = :'four'), 'manual_review', 'four guests go to review');
select is((select f.state_version from private.review_judgements f where f.booking_id = :'four'),
          (select assignment_state_version from public.bookings where id = :'four'),
  'the review keeps what "nothing fits" was said of');

-- The sync marks the restaurant (hours and pairs added may seat more), and plans nothing again.
select pg_temp.sync(:'rid');
select isnt((select room_added_at from private.floor_plan_rechecks where restaurant_id = :'rid'), null,
  'a sync marks the restaurant for a re-check');
select is(pg_temp.replanned(:'rid'), 0, 'the re-check plans no review again for a floor plan written back as it was');
select is((select assignment_state from public.bookings where id = :'four'), 'manual_review', 'the four stay in review');

-- Re-optimisation turned on since: what the review was said of is not what it would be said of now.
insert into private.restaurant_pipeline_settings (restaurant_id, reoptimize) values (:'rid', true);
select pg_temp.sync(:'rid');
select is(pg_temp.replanned(:'rid'), 1, 'a review said under other settings is planned again at a sync');

-- Said again on this floor plan; then a real change, a 4-top added, plans it again.
select pg_temp.reviewed(:'rid', 4, '2030-09-03 19:00+00') as again \gset
select tests.add_table(:'rid', 'S3', 4) is not null as added \gset
select is(pg_temp.replanned(:'rid'), 1, 'a table added plans the review again');

-- The same booking with another party is not what its review was said of.
select isnt(private.review_judgement(jsonb_populate_record(b, '{"party_size": 3}'), private.settings_for(b.restaurant_id),
                                     'v3', 'a digest'),
            private.review_judgement(b, private.settings_for(b.restaurant_id), 'v3', 'a digest'),
  'a request changed since is not what the review was said of')
  from public.bookings b where b.id = :'four';

-- A review said while a table was missing (deleted with no re-check: no booking held it; the other 4-top is
-- taken), then the table put back: planned again.
select tests.create_restaurant('Put back') as back \gset
select tests.add_table(:'back', 'B1', 4) as b1 \gset
select tests.add_table(:'back', 'B2', 4) as b2 \gset
select tests.confirmed_on(:'back', 2, '2030-09-02 19:00+00', :'b1') is not null as held \gset
set local role service_role;
delete from public.restaurant_tables where id = :'b2';
reset role;
select pg_temp.reviewed(:'back', 4, '2030-09-02 19:00+00') as missing \gset
select is((select assignment_state from public.bookings where id = :'missing'), 'manual_review',
  'with the 4-top gone, four guests go to review');
select tests.add_table(:'back', 'B2', 4) is not null as put_back \gset
select is(pg_temp.replanned(:'back'), 1, 'the 4-top put back plans that review again');

-- The re-check moves a couple off a table taken out of service (to the 2-top), and the table comes back: the
-- floor plan is as the review was said of, but the table the couple held may now be free.
select tests.create_restaurant('Moved off') as moved \gset
select tests.add_table(:'moved', 'A1', 4) as a1 \gset
select tests.add_table(:'moved', 'C1', 2) as c1 \gset
select tests.confirmed_on(:'moved', 2, '2030-09-04 19:00+00', :'a1') as couple_a \gset
select pg_temp.reviewed(:'moved', 4, '2030-09-04 19:00+00') as party \gset
update public.restaurant_tables set out_of_service = true where id = :'a1';
select is(pg_temp.replanned(:'moved'), 1, 'the couple is sent back off the table taken out of service');
update public.restaurant_tables set out_of_service = false where id = :'a1';
select is(pg_temp.replanned(:'moved'), 1, 'the table back in service plans the review again');

-- The couple holding the 4-top cancels: the table is free, so the sync plans the review again.
select tests.create_restaurant('Cancelled') as gone \gset
select tests.add_table(:'gone', 'G1', 4) as g1 \gset
select tests.confirmed_on(:'gone', 2, '2030-09-05 19:00+00', :'g1') as leaving \gset
select pg_temp.reviewed(:'gone', 4, '2030-09-05 19:00+00') as waiting \gset
select tests.force_state(:'leaving', 'cancelled');
select pg_temp.sync(:'gone');
select is(pg_temp.replanned(:'gone'), 1, 'a table freed since the review plans it again at a sync');

-- The couple's table narrowed to three or more before the review was said (its re-check not run yet), then a
-- sync: the pass sends the couple back off its table, which may free it, so the review, said of this very floor
-- plan and these holds, is planned again in that same pass.
select tests.create_restaurant('Same pass') as same \gset
select tests.add_table(:'same', 'P1', 4) as p1 \gset
select tests.confirmed_on(:'same', 2, '2030-09-06 19:00+00', :'p1') as small \gset
update public.restaurant_tables set min_party_size = 3 where id = :'p1';
select pg_temp.reviewed(:'same', 4, '2030-09-06 19:00+00') as big \gset
select pg_temp.sync(:'same');
select is(pg_temp.replanned(:'same'), 2, 'the couple and the review are both sent back in that pass');

-- The restaurant put in shadow mode since: another path judges it, so it is planned again.
select tests.create_restaurant('Shadowed') as shadowed \gset
select tests.add_table(:'shadowed', 'H1', 4) as h1 \gset
select tests.confirmed_on(:'shadowed', 2, '2030-09-07 19:00+00', :'h1') is not null as shadow_couple \gset
select pg_temp.reviewed(:'shadowed', 4, '2030-09-07 19:00+00') as shadow_four \gset
select ops.set_restaurant_mode(:'shadowed', 'shadow', 'ana', 'compare the paths') is not null as set_shadow \gset
select pg_temp.sync(:'shadowed');
select is(pg_temp.replanned(:'shadowed'), 1, 'a review said on another path is planned again at a sync');

-- Kept only for "nothing fits" said on settings as they were at the snapshot.
select tests.create_restaurant('Kept') as kept \gset
select tests.add_table(:'kept', 'K1', 4) as k1 \gset
select tests.confirmed_on(:'kept', 2, '2030-09-08 19:00+00', :'k1') as kept_couple \gset
select tests.create_booking(:'kept', 4, '2030-09-08 19:00+00') as out_of_time \gset
select public.assignment_fail(:'out_of_time', tests.lease_token(public.assignment_begin(:'out_of_time')), 'no_fit',
  'exact_search_budget_exhausted: the exact search ran out of its time') is not null as failed_exact \gset
select is((select count(*)::int from private.review_judgements where booking_id = :'out_of_time'), 0,
  'an exact search out of time keeps no judgement (another try may finish it)');
select tests.create_booking(:'kept', 4, '2030-09-08 20:00+00') as resettled \gset
select tests.lease_token(public.assignment_begin(:'resettled')) as lease_resettled \gset
update private.pipeline_settings set updated_at = clock_timestamp();
select public.assignment_fail(:'resettled', :'lease_resettled', 'no_fit',
  'no_table_fits: no free table or combination seats a party of 4') is not null as failed_resettled \gset
select is((select count(*)::int from private.review_judgements where booking_id = :'resettled'), 0,
  'nor one said after the settings were written since its snapshot');

-- A neighbour whose party changed, seated again on the same table for the same stay, holds what it held, but
-- re-optimisation reads its party.
select private.holds_fingerprint(b) as before_change from public.bookings b where b.id = :'resettled' \gset
set local role service_role;
update public.bookings set party_size = 3 where id = :'kept_couple';
reset role;
insert into public.booking_table_assignments (booking_id, restaurant_id, table_id, during, source, assigned_by)
select b.id, b.restaurant_id, :'k1', private.blocked_window(b), 'auto', 'coordinator' from public.bookings b
 where b.id = :'kept_couple';
select tests.force_state(:'kept_couple', 'confirmed');
select is((select array[count(*)::text, min(lower(a.during))::text] from public.booking_table_assignments a
            where a.booking_id = :'kept_couple' and a.released_at is null),
          (select array['1', lower(private.blocked_window(b))::text] from public.bookings b where b.id = :'kept_couple'),
  'the neighbour holds its table again for the same stay');
select isnt((select private.holds_fingerprint(b) from public.bookings b where b.id = :'resettled'), :'before_change',
  'the holds around a review read their holders'' party');

select * from finish();
rollback;
