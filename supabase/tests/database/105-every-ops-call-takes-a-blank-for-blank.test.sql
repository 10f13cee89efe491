-- Every ops call takes a blank for blank, whatever white space it is made of (20261228130000): the calls
-- 20261228090000 left kept a name typed with a tab or a no-break space as typed in the booking's history, took a
-- tab for an assignment's reason and a line break for the reason dead messages may go. Called through the Data
-- API's role, as an operator's tool calls them.
begin;
select plan(10);

select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'T1', 4);
select tests.create_booking(:'rid', 2, '2030-09-07 19:00+00') as review \gset
select tests.force_state(:'review', 'manual_review', 'no_table_fits: test');
select tests.create_booking(:'rid', 2, '2030-09-08 19:00+00') as seated \gset
select tests.create_booking(:'rid', 2, '2030-09-09 19:00+00') as bulk \gset
select tests.force_state(:'bulk', 'manual_review', 'circuit_open: test');

create function pg_temp.last_step(p_booking uuid) returns text[] language sql as $$
  select array[actor, reason] from public.booking_assignment_state_history
   where booking_id = p_booking order by version desc limit 1;
$$;

set local role service_role;
select throws_ok(format($$select ops.retry_booking(%L, E'\t' || U&'\00A0')$$, :'review'), 'AS005', null,
  'a retry in nobody''s name is refused');
reset role;
select is((select assignment_state from public.bookings where id = :'review'), 'manual_review', 'and the booking stays in review');

set local role service_role;
select ops.retry_booking(:'review', U&'\00A0ana\0009') is not null as retried \gset
reset role;
select is(pg_temp.last_step(:'review'), array['ana', 'ops_retry: sent back to automatic assignment'],
  'a retry keeps who acted without the white space around the name');

set local role service_role;
select ops.retry_bookings('circuit_open', E'\n ana', now() - interval '1 hour', :'rid') is not null as retried \gset
reset role;
select is((pg_temp.last_step(:'bulk'))[1], 'ana', 'so does a retry of many');

set local role service_role;
select ops.assign_tables(:'seated', array['T1'], E'ana\t', E'\t' || U&'\200B') is not null as assigned \gset
reset role;
select is((select array_agg(array[to_state, actor, reason] order by version) from public.booking_assignment_state_history
            where booking_id = :'seated' and to_state in ('assigned', 'confirmed')),
  array[['assigned', 'ana', 'manual assignment'], ['confirmed', 'ana', 'manual assignment']],
  'an assignment whose reason is a tab and a zero-width space takes the reason a blank one gets');

-- A transition of the pipeline's own, which names no actor, is the system's, its reason as it was given.
select tests.version_of(:'bulk') as bulk_version \gset
select is(private.walk_assignment_states(:'bulk', array['cancelled'], :bulk_version, 'guest called'), :bulk_version + 1,
  'a transition without an actor is walked');
select is(pg_temp.last_step(:'bulk'), array['system', 'guest called'], 'and is the system''s, its reason as given');

-- Dead messages go again only for a reason.
select tests.force_state(:'review', 'confirmed');
update public.bookings set customer_email = 'guest@example.com' where id = :'review';
update public.notification_outbox set status = 'dead', attempts = 16 where booking_id = :'review';
set local role service_role;
select throws_ok(format($$select ops.resend_dead_messages('ana', E'\n\t' || U&'\FEFF', %L)$$, :'rid'), 'AS005', null,
  'a line break, a tab and a byte-order mark are no reason to send dead messages again');
reset role;
select is((select count(*)::int from public.notification_outbox where booking_id = :'review' and status = 'dead'), 1,
  'so the message stays dead');
set local role service_role;
select ops.resend_dead_messages(E'\tana', E' the provider is back\n', :'rid') is not null as resent \gset
reset role;
select is((select array[actor, reason] from ops.rollout_log where setting = 'dead_messages' and scope = :'rid'
            order by changed_at desc limit 1),
  array['ana', 'the provider is back'], 'a resend is audited with who and why, without the white space');

select * from finish();
rollback;
