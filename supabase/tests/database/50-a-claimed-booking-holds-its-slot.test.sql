begin;
select plan(14);

-- A booking handed out from the queue holds its slot until it is begun, for as long as the hand-out is fresh
-- (20261218010000); a new booking joins the queue while every slot is spoken for, or while bookings wait and
-- anything of the restaurant is in flight. Bookings are inserted
-- and claimed as service_role, as a platform and the coordinator's Data API client do; staging and checks as
-- the owner. One slot: a holder in progress, one booking queued.
select tests.create_restaurant('Claimed slot') as r \gset
select tests.add_table(:'r', 'Q1', 4);
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'r', 1);
create function pg_temp.dispatched(p_booking uuid) returns boolean language sql as $$
  select exists (select 1 from net.http_request_queue q
                  where pg_catalog.convert_from(q.body, 'utf8')::jsonb ->> 'booking_id' = p_booking::text);
$$;
create function pg_temp.insert_booking(p_restaurant uuid, p_start timestamptz) returns uuid
language plpgsql as $$
declare
  id uuid;
begin
  set local role service_role;
  insert into public.bookings (restaurant_id, party_size, start_at) values (p_restaurant, 2, p_start)
  returning bookings.id into id;
  reset role;
  return id;
end $$;
select tests.create_booking(:'r', 2, '2030-05-01 18:00+00') as holder \gset
select public.assignment_begin(:'holder') ->> 'outcome' as began \gset
select tests.create_booking(:'r', 2, '2030-05-01 19:00+00') as queued \gset
select isnt((select deferred_since from public.bookings where id = :'queued'), null,
  'with the slot taken, a new booking joins the queue');

-- The holder leaves its slot, which wakes the queued booking; the coordinator claims it and has not begun it.
select public.cancel_booking(:'holder', 'guest cancelled');
set local role service_role;
select public.assignment_claim_due(p_limit => 10, p_restaurant_id => :'r') as claimed \gset
reset role;
select is(:'claimed'::uuid[], array[:'queued'::uuid], 'the woken booking is claimed');
select is(private.slots_taken(:'r', now()), 1, 'claimed and not begun, it holds the slot');

-- A booking made now does not take that slot: it joins the queue behind the claimed one, undispatched.
select pg_temp.insert_booking(:'r', '2030-05-01 20:00+00') as latecomer \gset
select isnt((select deferred_since from public.bookings where id = :'latecomer'), null,
  'a new booking made while a claimed booking is about to begin joins the queue');
select ok(not pg_temp.dispatched(:'latecomer'), 'and is not dispatched');

-- The claimed booking begins in its slot; when it leaves, the latecomer is woken.
select is(public.assignment_begin(:'queued') ->> 'outcome', 'ready', 'the claimed booking begins in the slot');
select public.cancel_booking(:'queued', 'guest cancelled');
select ok((select next_attempt_at <= now() from public.bookings where id = :'latecomer'),
  'the slot it leaves wakes the latecomer');

-- A hand-out holds the slot only while it is fresh: the worker that claimed it may have died. A booking
-- handed out as a claim leaves it (the latecomer, claimed now), counted now and no longer 11 s later, when it is
-- not yet due again.
set local role service_role;
select public.assignment_claim_due(p_limit => 10, p_restaurant_id => :'r') as claimed_late \gset
reset role;
update public.bookings set next_attempt_at = now() + interval '1 minute' where id = :'latecomer';
select is(private.slots_taken(:'r', now()), 1, 'the fresh hand-out holds the slot');
select is(private.slots_taken(:'r', now() + interval '11 seconds'), 0,
  'a hand-out older than the nudge grace holds no slot');

-- Two slots, the queue's head handed out and not begun: one slot is held and one is free, but while the
-- restaurant is busy a new booking does not jump the queue. Once the hand-out is stale (its worker gone) and
-- nothing else is in flight, a new booking is dispatched at once.
select tests.create_restaurant('Claimed slot, two slots') as two \gset
select tests.add_table(:'two', 'T1', 4);
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'two', 2);
select tests.create_booking(:'two', 2, '2030-05-01 18:00+00') as head \gset
update public.bookings set deferred_since = now() - interval '5 seconds', last_dispatched_at = now(),
                           dispatch_count = 1, next_attempt_at = now() + interval '10 seconds'
 where id = :'head';
select is(private.slots_taken(:'two', now()), 1, 'the handed-out head holds one slot');
select pg_temp.insert_booking(:'two', '2030-05-01 19:00+00') as second \gset
select ok((select deferred_since is not null from public.bookings where id = :'second')
          and not pg_temp.dispatched(:'second'), 'a new booking joins the queue behind the busy head, undispatched');
alter table public.bookings disable trigger touch_updated_at;
update public.bookings set last_dispatched_at = now() - interval '11 seconds', updated_at = now() - interval '11 seconds'
 where id = :'head';
alter table public.bookings enable trigger touch_updated_at;
select pg_temp.insert_booking(:'two', '2030-05-01 20:00+00') as walk_in \gset
select ok((select deferred_since is null from public.bookings where id = :'walk_in')
          and pg_temp.dispatched(:'walk_in'), 'with the hand-out stale and nothing in flight, a new booking is dispatched');

-- A queue nobody has woken or handed out, with its slots free (stranded), does not hold new bookings back.
select tests.create_restaurant('Stranded queue') as stranded \gset
select tests.add_table(:'stranded', 'S1', 4);
select tests.create_booking(:'stranded', 2, '2030-05-01 18:00+00') as waiting \gset
update public.bookings set deferred_since = now() - interval '5 seconds', next_attempt_at = now() + interval '5 seconds'
 where id = :'waiting';
select pg_temp.insert_booking(:'stranded', '2030-05-01 19:00+00') as newcomer \gset
select ok((select deferred_since is null from public.bookings where id = :'newcomer')
          and pg_temp.dispatched(:'newcomer'), 'a new booking beside a stranded queue is dispatched');
select is(private.slots_taken(:'stranded', now()), 1, 'and its dispatch is what holds a slot');

select * from finish();
rollback;
