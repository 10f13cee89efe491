begin;
select plan(12);

-- A booking whose update fails (here a trigger that refuses it, as a platform's own trigger might) no longer
-- fails every claim that reaches it: the claim takes the others one at a time and sends that one to manual
-- review with the cause. Claimed as the coordinator does, through the Data API's role; each claim is scoped to
-- this test's restaurant, so nothing else waiting in the database takes part.
select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'T1', 4);
select tests.create_booking(:'rid', 2, '2030-01-07 12:00+00') as bad \gset
select tests.create_booking(:'rid', 2, '2030-01-07 13:00+00') as good \gset
update public.bookings set next_attempt_at = '2000-01-01' where id = :'bad';
update public.bookings set next_attempt_at = '2000-01-01 00:00:01' where id = :'good';
create function tests.refuse_claims() returns trigger language plpgsql as $$
begin
  if new.id = any(string_to_array(current_setting('tests.refused'), ',')::uuid[])
     and new.dispatch_count <> old.dispatch_count then
    raise exception 'this row cannot be claimed';
  end if;
  return new;
end $$;
select set_config('tests.refused', :'bad', true);
-- As in 18: the strongest lock before create trigger takes its own, so the running stack's claims and sweeps
-- wait for this transaction instead of deadlocking with it.
lock table public.bookings in access exclusive mode;
create trigger refuse_claims before update on public.bookings for each row execute function tests.refuse_claims();

set local role service_role;
select public.assignment_claim_due(2, :'rid') as claimed \gset
reset role;
select is(:'claimed'::uuid[], array[:'good']::uuid[], 'the claim hands out the other booking');
select is((select dispatch_count from public.bookings where id = :'good'), 1, 'counted as handed out');
select is((select assignment_state from public.bookings where id = :'bad'), 'manual_review',
  'the booking it cannot update goes to manual review');
select is((select manual_review_reason from public.bookings where id = :'bad'),
  'sweeper_error: claim failed with SQLSTATE P0001; see the sweeper.row_failed event', 'with a reason naming the failure');
select is((select context from public.observability_events where booking_id = :'bad' and event_type = 'sweeper.row_failed'),
  '{"step": "claim", "sqlstate": "P0001"}'::jsonb, 'and an event saying which step failed');
set local role service_role;
select is(public.assignment_claim_due(2, :'rid'), '{}'::uuid[], 'the next claim finds nothing left to hand out');
reset role;

-- A new booking nobody claimed yet is reached the same way (the batch's second branch): one made 2 s ago.
select tests.create_booking(:'rid', 2, '2030-01-07 14:00+00') as fresh_bad \gset
select tests.create_booking(:'rid', 2, '2030-01-07 15:00+00') as fresh_good \gset
update public.bookings set created_at = now() - interval '2 seconds', next_attempt_at = now() + interval '8 seconds'
 where id in (:'fresh_bad', :'fresh_good');
select set_config('tests.refused', :'fresh_bad', true);
set local role service_role;
select is(public.assignment_claim_due(2, :'rid'), array[:'fresh_good']::uuid[], 'a new booking is handed out');
reset role;
select is((select assignment_state from public.bookings where id = :'fresh_bad'), 'manual_review',
  'and the new one it cannot update goes to manual review');

-- A row that cannot even be escalated (every update refused) is left where it is, with one event a minute.
create function tests.refuse_everything() returns trigger language plpgsql as $$
begin
  if new.id = current_setting('tests.stubborn')::uuid then
    raise exception 'this row cannot be changed';
  end if;
  return new;
end $$;
select tests.create_booking(:'rid', 2, '2030-01-07 16:00+00') as stubborn \gset
update public.bookings set next_attempt_at = '2000-01-01' where id = :'stubborn';
select set_config('tests.stubborn', :'stubborn', true);
create trigger refuse_everything before update on public.bookings for each row execute function tests.refuse_everything();
set local role service_role;
select is(public.assignment_claim_due(2, :'rid'), '{}'::uuid[], 'a claim with only that row hands out nothing');
select is(public.assignment_claim_due(2, :'rid'), '{}'::uuid[], 'and so does the next, without raising');
reset role;
select is((select count(*)::int from public.observability_events where booking_id = :'stubborn'
            and event_type = 'sweeper.row_failed'), 1, 'recording it once, not per claim');
drop trigger refuse_everything on public.bookings;
drop trigger refuse_claims on public.bookings;

-- Without a refused row, the claim is the batch as before.
select tests.create_booking(:'rid', 2, '2030-01-07 17:00+00') as later \gset
update public.bookings set next_attempt_at = now() - interval '2 seconds' where id = :'stubborn';
update public.bookings set next_attempt_at = now() - interval '1 second' where id = :'later';
-- (Compared as sets: on a database full of waiting bookings a claim may read above its floor first.)
select is((select array_agg(x order by x) from unnest(public.assignment_claim_due(5, :'rid')) x),
          (select array_agg(x order by x) from unnest(array[:'stubborn', :'later']::uuid[]) x),
  'a claim with nothing refused takes its batch');

select * from finish();
rollback;
