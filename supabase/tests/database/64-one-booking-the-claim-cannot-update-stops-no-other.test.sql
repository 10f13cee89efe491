begin;
select plan(7);

-- A booking whose update fails (here a trigger that refuses it, as a platform's own trigger might) no longer
-- fails every claim that reaches it: the claim takes the others one at a time and sends that one to manual
-- review with the cause. Claimed as the coordinator does, through the Data API's role.
select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'T1', 4);
select tests.create_booking(:'rid', 2, '2030-01-07 12:00+00') as bad \gset
select tests.create_booking(:'rid', 2, '2030-01-07 13:00+00') as good \gset
-- Due before anything else waiting in the database, so the batch reaches them whatever else is queued.
update public.bookings set next_attempt_at = '2000-01-01' where id = :'bad';
update public.bookings set next_attempt_at = '2000-01-01 00:00:01' where id = :'good';
create function tests.refuse_one_claim() returns trigger language plpgsql as $$
begin
  if new.id = current_setting('tests.bad')::uuid and new.dispatch_count <> old.dispatch_count then
    raise exception 'this row cannot be claimed';
  end if;
  return new;
end $$;
select set_config('tests.bad', :'bad', true);
-- The strongest lock first (as in 18): taken later by drop trigger, it could deadlock with the running stack.
lock table public.bookings in access exclusive mode;
create trigger refuse_one_claim before update on public.bookings for each row execute function tests.refuse_one_claim();

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
drop trigger refuse_one_claim on public.bookings;

-- Without a failing row, the claim is the batch as before.
select tests.create_booking(:'rid', 2, '2030-01-07 14:00+00') as later \gset
update public.bookings set next_attempt_at = '2000-01-01' where id = :'later';
select is(public.assignment_claim_due(5, :'rid'), array[:'later']::uuid[], 'a claim with nothing refused takes its batch');

select * from finish();
rollback;
