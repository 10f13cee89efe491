begin;
select plan(7);

-- The lease, a claim and a message's lease commit without waiting for the disk: a crash that loses them loses
-- nothing for good. What a crash must not lose (the booking, its tables and confirmation, the failure, the
-- message sent) keeps waiting. Each RPC runs as its own transaction in the pipeline; here each one starts
-- from the default (set local ... = on) and the test reads what its transaction would commit with.
select tests.create_restaurant() as r \gset
select tests.add_table(:'r', 'T1', 4) \gset

set local synchronous_commit = on;
select tests.create_booking(:'r', 2, '2030-03-07 19:00+00') as b \gset
select is(current_setting('synchronous_commit'), 'on', 'a booking''s insert waits for the disk');

select public.assignment_begin(:'b') ->> 'lease_token' as lease \gset
select is(current_setting('synchronous_commit'), 'off', 'the lease does not');

set local synchronous_commit = on;
select public.assignment_commit(:'b', :'lease', array[(select id from public.restaurant_tables where restaurant_id = :'r')],
                                'scarcity_fit') ->> 'outcome' as committed \gset
select is(current_setting('synchronous_commit'), 'on', 'the tables and the confirmation wait for the disk');

select public.assignment_claim_due(10);
select is(current_setting('synchronous_commit'), 'off', 'a claim does not');

set local synchronous_commit = on;
select c.id as n, c.lease_token as nlease from public.notification_claim(10, 60000) c where c.booking_id = :'b' \gset
select is(current_setting('synchronous_commit'), 'off', 'nor a message''s lease');

set local synchronous_commit = on;
select public.notification_complete(:n, :'nlease', true);
select is(current_setting('synchronous_commit'), 'on', 'the message sent waits for the disk');
select is(:'committed'::text, 'confirmed', 'and the booking was confirmed on the way');

select * from finish();
rollback;
