begin;
select plan(13);

-- A claim reads the queue from a floor (20261217000000): the earliest next_attempt_at of any waiting booking,
-- less a second, worked out at most once a second. The floor is staged here by writing it, as a claim a
-- moment ago would have (fresh: stamped a minute ahead, so a slow machine cannot age it past the second);
-- bookings wait with explicit times (created long ago, so they are no new bookings). Claims are made as
-- service_role, the role the coordinator's Data API client has; staging and checks as the owner. A claim that cannot
-- take the floor's lock is an integration test (claim_floor.test.ts): a lock of this session's own would not
-- stop it.
-- The floor's lock is held by this session from here on: a running coordinator's claim (the stack's functions
-- run while the suite runs again on a filled database) that took it at the moment a claim here works the floor
-- out would leave this claim the floor as staged; this session's own lock does not stop its claims.
select pg_advisory_xact_lock(private.lock_key('claim_floor', '00000000-0000-0000-0000-000000000000'));
select tests.create_restaurant('Claimed from the floor') as r \gset
select tests.add_table(:'r', 'F1', 4);
create function pg_temp.waiting(p_restaurant uuid, p_hour integer, p_due_ago interval) returns uuid
language plpgsql as $$
declare
  b uuid := tests.create_booking(p_restaurant, 2, timestamptz '2030-03-01 12:00+00' + make_interval(hours => p_hour));
begin
  update public.bookings set created_at = now() - interval '1 hour', next_attempt_at = now() - p_due_ago,
                             dispatch_count = 0
   where id = b;
  return b;
end $$;
create function pg_temp.stage_floor(p_floor timestamptz, p_fresh boolean) returns void language sql as $$
  update private.claim_floor
     set due_floor = p_floor, computed_at = case when p_fresh then clock_timestamp() + interval '1 minute' else '-infinity' end;
$$;
create function pg_temp.sorted(uuid[]) returns uuid[] language sql as $$
  select array_agg(x order by x) from unnest($1) x;
$$;

select pg_temp.waiting(:'r', 1, interval '10 minutes') as old \gset
select pg_temp.waiting(:'r', 2, interval '3 seconds') as recent3 \gset
select pg_temp.waiting(:'r', 3, interval '2 seconds') as recent2 \gset
select pg_temp.waiting(:'r', 4, interval '1 second') as recent1 \gset
select pg_temp.stage_floor(now() - interval '5 seconds', true);

set local role service_role;
select public.assignment_claim_due(2, :'r') as c1 \gset
reset role;
select is(pg_temp.sorted(:'c1'::uuid[]), pg_temp.sorted(array[:'recent3', :'recent2']::uuid[]),
  'with enough waiting above the floor, a claim takes the oldest above it');
set local role service_role;
select public.assignment_claim_due(5, :'r') as c2 \gset
reset role;
select is(pg_temp.sorted(:'c2'::uuid[]), pg_temp.sorted(array[:'old', :'recent1']::uuid[]),
  'with too few above it, the whole queue: a booking below the floor is claimed as well');
select is((select due_floor from private.claim_floor), now() - interval '5 seconds',
  'a floor worked out less than a second ago is used as it is');

-- Below a fresh floor with more waiting above it, a booking is taken once the floor is worked out again.
select pg_temp.waiting(:'r', 5, interval '10 minutes') as old2 \gset
select pg_temp.waiting(:'r', 6, interval '2 seconds') as above1 \gset
select pg_temp.waiting(:'r', 7, interval '1 second') as above2 \gset
select pg_temp.stage_floor(now() - interval '5 seconds', true);
set local role service_role;
select public.assignment_claim_due(1, :'r') as c3 \gset
reset role;
select is(:'c3'::uuid[], array[:'above1']::uuid[], 'under a fresh floor the oldest above it first');
select pg_temp.stage_floor(now() - interval '5 seconds', false);
set local role service_role;
select public.assignment_claim_due(1, :'r') as c4 \gset
reset role;
select is(:'c4'::uuid[], array[:'old2']::uuid[],
  'a floor over a second old is worked out again, and the booking below the old one is next');
select ok((select due_floor <= now() - interval '10 minutes 1 second' from private.claim_floor),
  'the floor is at least a second below the earliest booking waiting when it was worked out (old2)');
select ok((select computed_at > now() from private.claim_floor), 'and records when it was worked out');

-- Worked out again with the claim's time before every booking waiting, the floor is a second before that time
-- (p_now is the database owner's, for tests: the Data API's roles may not set it).
select tests.create_restaurant('An empty queue') as empty \gset
select pg_temp.stage_floor('-infinity', false);
select is(public.assignment_claim_due(3, :'empty', 10000, now() - interval '1 hour'), '{}'::uuid[],
  'a claim of a restaurant with nothing due');
select ok((select due_floor > '-infinity' and due_floor <= now() - interval '1 hour 1 second' from private.claim_floor),
  'the floor is never above a second before the claim''s time');

-- A new booking taken by the first read is not taken again by the second, with a visibility short enough to
-- leave it a new booking.
select tests.create_restaurant('Claimed once') as once \gset
select tests.add_table(:'once', 'O1', 4);
select tests.create_booking(:'once', 2, '2030-03-02 19:00+00') as fresh \gset
update public.bookings set created_at = now() - interval '1 second', next_attempt_at = now() + interval '9 seconds',
                           dispatch_count = 0
 where id = :'fresh';
select pg_temp.stage_floor(now() - interval '5 seconds', true);
set local role service_role;
select public.assignment_claim_due(10, :'once', 100) as c5 \gset
reset role;
select is(:'c5'::uuid[], array[:'fresh']::uuid[],
  'a new booking is claimed once by one claim');
select is((select dispatch_count from public.bookings where id = :'fresh'), 1, 'and counted as one dispatch');

-- Only the claim functions see the floor.
select ok(not has_table_privilege('service_role', 'private.claim_floor', 'select'),
  'service_role cannot read the floor');
select ok(not has_function_privilege('service_role', 'private.claim_floor(timestamptz)', 'execute'),
  'nor work it out');

select * from finish();
rollback;
