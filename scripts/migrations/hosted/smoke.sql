-- After the migrations, as the role hosted Supabase gives a project (postgres, no superuser): the pipeline's
-- jobs are scheduled, an operator configures Vault, a platform writes a restaurant and a booking as
-- service_role, the coordinator leases, reads and commits it through its RPCs as service_role, the booking is
-- confirmed with its nudge signed and its guest message queued and sent, the jobs pg_cron runs and the ops calls
-- run without meeting a privilege they lack. Any error stops it; the script that runs it says what failed.
\set ON_ERROR_STOP on
set client_min_messages = warning;

do $$
begin
  if (select r.rolsuper from pg_catalog.pg_roles r where r.rolname = current_user) then
    raise exception 'the smoke test must run as a role that is no superuser, as on hosted Supabase';
  end if;
  -- The two the pg_cron of every version runs (1.5 and later, as hosted, has two more of five seconds).
  if (select count(*) from cron.job where jobname in ('assignment-sweeper', 'assignment-retention')) <> 2 then
    raise exception 'the migrations did not schedule the sweeper and the retention jobs';
  end if;
end $$;

select vault.create_secret('http://127.0.0.1:9/functions/v1', 'assignment_functions_url') is not null as url_set;
select vault.create_secret('a-pipeline-secret-of-some-length', 'assignment_pipeline_secret') is not null as secret_set;

begin;
set local role service_role;
insert into public.restaurants (name) values ('Hosted smoke') returning id as rid \gset
insert into public.zones (restaurant_id, name) values (:'rid', 'Main') returning id as zid \gset
insert into public.restaurant_tables (restaurant_id, zone_id, table_number, capacity, max_party_size)
values (:'rid', :'zid', 'H1', 4, 4) returning id as tid \gset
insert into public.bookings (restaurant_id, party_size, start_at, customer_name, customer_email)
values (:'rid', 2, date_trunc('day', now()) + interval '2 days 19 hours', 'Ada Lovelace', 'ada@example.com')
returning id as bid \gset
commit;

begin;
set local role service_role;
select public.assignment_lease(p_booking_id => :'bid', p_trigger => 'dispatch') ->> 'lease_token' as lease \gset
select public.assignment_snapshot(p_booking_id => :'bid', p_lease_token => :'lease') is not null as snapshot_read;
select public.assignment_commit(:'bid', :'lease', array[:'tid']::uuid[], 'scarcity_fit') is not null as committed;
commit;

select pg_catalog.set_config('smoke.booking', :'bid', false) is not null as noted;
do $$
declare
  b public.bookings;
begin
  select * into b from public.bookings where id = pg_catalog.current_setting('smoke.booking')::uuid;
  if b.assignment_state <> 'confirmed' then
    raise exception 'the booking is %, not confirmed', b.assignment_state;
  end if;
  if not exists (select 1 from public.booking_table_assignments a where a.booking_id = b.id and a.released_at is null) then
    raise exception 'the confirmed booking holds no table';
  end if;
  if not exists (select 1 from public.notification_outbox o where o.booking_id = b.id) then
    raise exception 'no guest message was queued';
  end if;
  if not exists (select 1 from net.http_request_queue q
                  where pg_catalog.convert_from(q.body, 'UTF8') like '%' || b.id || '%'
                    and q.headers ->> 'Authorization' ~ '^Bearer v1\.\d+\.[0-9a-f]{64}$') then
    raise exception 'the booking''s nudge was not queued with a signature';
  end if;
end $$;

-- The guest message, claimed and completed as the dispatcher's Data API client does.
begin;
set local role service_role;
select c.id as message, c.lease_token as message_lease from public.notification_claim(10, 60000) c
 where c.booking_id = :'bid' \gset
select public.notification_complete(:message, :'message_lease', true) is not null as message_sent;
commit;

-- What pg_cron runs as postgres, and what an operator reads: none may fail for want of a privilege.
select private.sweep() is not null as swept;
select private.recheck_floor_plans() is not null as rechecked;
select private.nudge_reseating() is not null as nudged;
select private.prune_old_rows() is not null as pruned;
call private.run_retention();
do $$
declare
  health jsonb := ops.health();
begin
  if health::text ilike '%permission denied%' or health::text ilike '%must be owner%' then
    raise exception 'ops.health() met a privilege it lacks: %', health -> 'problems';
  end if;
end $$;
select ops.cancel_booking(:'bid', 'guest called', 'smoke test') is not null as cancelled;
do $$
begin
  if (select assignment_state from public.bookings where id = pg_catalog.current_setting('smoke.booking')::uuid)
     <> 'cancelled'
     or exists (select 1 from public.booking_table_assignments a
                 where a.booking_id = pg_catalog.current_setting('smoke.booking')::uuid and a.released_at is null) then
    raise exception 'ops.cancel_booking did not cancel the booking and release its table';
  end if;
end $$;
