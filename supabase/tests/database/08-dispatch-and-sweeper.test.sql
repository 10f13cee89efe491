begin;
select plan(14);

select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'T1', 4) as t1 \gset

-- With the coordinator's URL missing from Vault the sweeper cannot dispatch, and says so. Its events carry
-- the time of the sweep they describe (not the transaction's start), which also tells them apart from the
-- stack's own sweeps.
create temporary table saved_url as
  select decrypted_secret from vault.decrypted_secrets where name = 'assignment_functions_url';
delete from vault.secrets where name = 'assignment_functions_url';
select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as unsent \gset
select now() + interval '11 seconds' as sweep_at \gset
select private.sweep(:'sweep_at') as swept \gset
select is((:'swept'::jsonb) ->> 'dispatched', '0', 'nothing counts as dispatched when nothing could be sent');
select ok(((:'swept'::jsonb) ->> 'not_dispatched')::int >= 1, 'it is counted as not dispatched');
select is((select dispatch_count from public.bookings where id = :'unsent'), 1,
  'the attempt still counts toward escalation, so the booking cannot wait forever');
select is((select context ->> 'fix' from public.observability_events where event_type = 'dispatch.not_configured'
            and created_at = :'sweep_at'), 'store assignment_functions_url and assignment_pipeline_secret in Vault',
  'a dispatch.not_configured event says what to fix');
select is((select severity from public.observability_events where event_type = 'sweeper.run' and created_at = :'sweep_at'), 'error',
  'and the sweep is reported as an error, stamped with the time of that sweep');
update public.bookings set dispatch_count = 12, next_attempt_at = now() where id = :'unsent';
select private.sweep(now() + interval '1 second');
select alike((select manual_review_reason from public.bookings where id = :'unsent'),
  'coordinator_unreachable: tried 12 times to dispatch it, but the coordinator URL or secret is missing from Vault%',
  'escalation names the missing configuration rather than an unreachable coordinator');
select vault.create_secret(decrypted_secret, 'assignment_functions_url') from saved_url;

-- A failing pg_net (or Vault) must not fail the guest's INSERT.
create or replace function net.http_post(
  url text, body jsonb default '{}'::jsonb, params jsonb default '{}'::jsonb,
  headers jsonb default '{"Content-Type": "application/json"}'::jsonb,
  timeout_milliseconds integer default 5000
) returns bigint language plpgsql as $$
begin
  raise exception using errcode = '58000', message = 'request queue unavailable (while posting for ada@example.com)';
end $$;
select lives_ok(format('insert into public.bookings (restaurant_id, party_size, start_at, customer_name, customer_email) values (%L, 2, %L, %L, %L)',
                       :'rid', '2030-01-07 20:00+00', 'Ada Lovelace', 'ada@example.com'),
  'the insert succeeds although the dispatch failed');
select id as inserted from public.bookings where restaurant_id = :'rid' and start_at = '2030-01-07 20:00+00' \gset
select ok((select assignment_state = 'created' and next_attempt_at > now() from public.bookings where id = :'inserted'),
  'the booking waits, due, for the sweeper');
select is((select context - 'error' from public.observability_events where booking_id = :'inserted' and event_type = 'dispatch.failed'),
  '{"function": "assignment-coordinator", "trigger": "insert", "sqlstate": "58000"}'::jsonb,
  'the failure is recorded as dispatch.failed');
select is((select context ->> 'error' from public.observability_events where booking_id = :'inserted' and event_type = 'dispatch.failed'),
  'request queue unavailable (while posting for [email])', 'with the error, scrubbed of personal data');
select is((select count(*)::int from public.observability_events where booking_id = :'inserted'
            and (context::text ilike '%lovelace%' or context::text ilike '%ada@%')), 0, 'no personal data in any event');

-- The same for a changed booking and for the sweeper.
select public.assignment_begin(:'inserted') as began \gset
select public.assignment_commit(:'inserted', ((:'began'::jsonb) ->> 'lease_token')::uuid, array[:'t1']::uuid[], 'test');
select lives_ok(format('update public.bookings set start_at = %L where id = %L', '2030-01-07 21:00+00', :'inserted'),
  'changing a confirmed booking succeeds although the dispatch failed');
select is((select assignment_state from public.bookings where id = :'inserted'), 'assignment_pending', 'and it is queued again');
select is(private.sweep(now() + interval '11 seconds') ->> 'dispatched', '0', 'a sweep whose dispatches fail does not fail either');

select * from finish();
rollback;
