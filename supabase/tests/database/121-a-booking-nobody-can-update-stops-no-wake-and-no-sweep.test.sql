-- A booking nobody can update stops no wake and no sweep (20261230060000): a platform trigger of its own refuses
-- every UPDATE of one queued booking. The queue's other bookings are woken, the refused one is set aside, the
-- sweep finishes, and a booking leaving its slot (its cancellation, through service_role as a platform makes
-- it) is not refused for the booking it would wake.
begin;
select plan(8);

create function tests.platform_refuses_one() returns trigger language plpgsql as $$
begin
  if old.id = current_setting('tests.refused')::uuid then
    raise exception 'the platform refuses to change this booking';
  end if;
  return new;
end $$;

-- A queue with nothing in flight: the oldest refuses every change.
select tests.create_restaurant('Refusing') as rid \gset
select tests.add_table(:'rid', 'R1', 4);
select tests.queue_bookings(:'rid', 2) as queue \gset
select set_config('tests.refused', (:'queue'::uuid[])[1]::text, true) is not null as refused_set \gset
create trigger zz_platform_refuses_one before update on public.bookings
  for each row execute function tests.platform_refuses_one();

select lives_ok($$select private.wake_stranded_queues(now())$$, 'waking the stranded queue raises nothing');
select is((select next_attempt_at <= now() from public.bookings where id = (:'queue'::uuid[])[2]), true,
  'the other booking of the queue is woken');
select is((select array_agg(context ->> 'step') from public.observability_events
            where booking_id = (:'queue'::uuid[])[1] and event_type = 'sweeper.row_failed'), array['wake'],
  'the refused one is set aside, saying so');
select is((select next_attempt_at > now() from public.bookings where id = (:'queue'::uuid[])[1]), true,
  'and left as it was');
select lives_ok($$select private.sweep(now())$$, 'a sweep finishes');

-- A booking leaving its slot wakes the queue behind it: the one refused does not fail the leaving.
select tests.create_restaurant('Leaving') as leaving \gset
select tests.add_table(:'leaving', 'L1', 4);
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'leaving', 1);
select tests.create_booking(:'leaving', 2, '2030-07-01 12:00+00') as running \gset
select public.assignment_begin(:'running') ->> 'outcome' as began \gset
select tests.queue_bookings(:'leaving', 2) as leaving_queue \gset
select set_config('tests.refused', (:'leaving_queue'::uuid[])[1]::text, true) is not null as refused_set \gset
set local role service_role;
select lives_ok(format($$select public.cancel_booking(%L, 'guest cancelled')$$, :'running'),
  'the running booking''s cancellation goes through');
reset role;
select is((select assignment_state from public.bookings where id = :'running'), 'cancelled', 'it is cancelled');
select is((select array_agg(context ->> 'step') from public.observability_events
            where booking_id = (:'leaving_queue'::uuid[])[1] and event_type = 'sweeper.row_failed'), array['wake'],
  'the queued booking it would have woken is set aside');

select * from finish();
rollback;
