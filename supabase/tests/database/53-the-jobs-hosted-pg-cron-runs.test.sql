begin;
select plan(4);

-- Where pg_cron runs jobs every few seconds (1.5 and later: hosted Supabase), the sweeper, the floor-plan
-- re-check and the review nudge are three jobs of their own, each a bare call with every argument at its
-- default (20261201101700, 20261210140000, 20261211000000). The local stack's pg_cron is older, so its jobs
-- take the looping procedure's branch instead; here the hosted jobs' commands run as pg_cron runs them, on a
-- database with work for each of them.
select tests.create_restaurant('Hosted jobs') as rid \gset
select tests.add_table(:'rid', 'J1', 2);
select tests.create_booking(:'rid', 2, '2030-10-01 19:00+00') as due \gset
update public.bookings set next_attempt_at = now() - interval '1 second' where id = :'due';
select tests.create_booking(:'rid', 6, '2030-10-01 19:00+00') as reviewed \gset
select tests.force_state(:'reviewed', 'manual_review', 'no_table_fits: test');
insert into private.floor_plan_changes (restaurant_id) values (:'rid');

select lives_ok('select private.sweep()', 'the sweeper''s job runs');
select lives_ok('select private.recheck_floor_plans()', 'the floor-plan re-check''s job runs');
select lives_ok('select private.nudge_reseating()', 'the review nudge''s job runs');
select is((select dispatch_count from public.bookings where id = :'due'), 1, 'and the sweep dispatched the due booking');

select * from finish();
rollback;
