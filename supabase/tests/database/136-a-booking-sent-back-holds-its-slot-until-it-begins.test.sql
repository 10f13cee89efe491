-- A booking sent back holds its slot until it begins, whichever transaction sent it (20261231150000):
-- private.nudge marks what it sends as handed out, and private.slots_taken counts it until its attempt
-- begins or nudge_grace passes. The platform's writes go through the Data API, so they run here as
-- service_role. One test transaction stands for several: 20261231100000 counted a transaction's own sends in
-- the setting pipeline.sent_back, which a transaction of its own starts empty, so it is emptied here where
-- another transaction would begin.
begin;
select plan(11);

create function pg_temp.new_transaction() returns void language sql as $$
  select pg_catalog.set_config('pipeline.sent_back', '', true);
$$;

-- 1. A restaurant with one slot; the platform changes two confirmed bookings, one PATCH each.
select tests.create_restaurant('One Change At A Time') as rid \gset
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'rid', 1);
select tests.confirmed_on(:'rid', 2, '2030-06-10 19:00+00', tests.add_table(:'rid', 'T1', 4)) as first \gset
select tests.confirmed_on(:'rid', 2, '2030-06-10 20:00+00', tests.add_table(:'rid', 'T2', 4)) as second \gset
select tests.mark_requests();
set local role service_role;
update public.bookings set party_size = 3 where id = :'first';
reset role;
select is(tests.requests_since_mark(array[:'first'::uuid]), 1, 'the first change is sent to the coordinator');
select is(private.slots_taken(:'rid', now()), 1, 'and holds the slot while it is on its way');
select pg_temp.new_transaction();
set local role service_role;
update public.bookings set party_size = 3 where id = :'second';
reset role;
select is(array[tests.requests_since_mark(array[:'second'::uuid]),
                (select (deferred_since is not null)::int from public.bookings where id = :'second')],
  array[0, 1], 'a second change, committed on its own, joins the queue instead of sending another request');

-- 2. A new booking inserted while the first is on its way joins the queue too.
select pg_temp.new_transaction();
set local role service_role;
insert into public.bookings (restaurant_id, party_size, start_at) values (:'rid', 2, '2030-06-10 21:00+00')
returning (deferred_since is not null) as queued_at_insert \gset
reset role;
select ok(:'queued_at_insert'::boolean, 'so does a new booking inserted meanwhile');

-- 3. Once its attempt begins, the slot is the attempt's: counted once.
set local role service_role;
select public.assignment_begin(:'first') ->> 'outcome' as began \gset
reset role;
select is(array[:'began', private.slots_taken(:'rid', now())::text], array['ready', '1'],
  'the booking begun holds the one slot, counted once');

-- 4. A hand-out lapses after nudge_grace (its request was lost; it is due again and will be handed out anew).
select tests.create_restaurant('Lost Nudge') as lost_rid \gset
select tests.confirmed_on(:'lost_rid', 2, '2030-06-11 19:00+00', tests.add_table(:'lost_rid', 'T1', 4)) as lost \gset
set local role service_role;
update public.bookings set party_size = 3 where id = :'lost';
reset role;
select is(array[private.slots_taken(:'lost_rid', now()), private.slots_taken(:'lost_rid', now() + interval '11 seconds')],
  array[1, 0], 'a nudge holds its slot for nudge_grace at most');

-- 5. A retry a claim handed out holds a slot until it begins; one handed out before it was last touched (it
-- began and backed off since) holds none.
select tests.create_restaurant('Retries') as retry_rid \gset
select tests.create_booking(:'retry_rid', 2, '2030-06-12 19:00+00') as retry \gset
select tests.force_state(:'retry', 'assignment_pending');
update public.bookings set deferred_since = null, next_attempt_at = now() - interval '1 second' where id = :'retry';
set local role service_role;
select is(public.assignment_claim_due(10, :'retry_rid'), array[:'retry'::uuid], 'a claim hands out the retry that is due');
reset role;
select is(private.slots_taken(:'retry_rid', now()), 1, 'which holds a slot while it is on its way');
update public.bookings set last_dispatched_at = now() - interval '1 second', next_attempt_at = now() + interval '5 seconds'
 where id = :'retry';
select is(private.slots_taken(:'retry_rid', now()), 0, 'a retry waiting out its backoff since its last hand-out holds none');

-- 6. Nothing sent, no hold: a nudge pg_net never got (the coordinator's URL missing from Vault) is followed by
-- no attempt, so it leaves the slot free.
select tests.create_restaurant('Not Configured') as unset_rid \gset
select tests.confirmed_on(:'unset_rid', 2, '2030-06-13 19:00+00', tests.add_table(:'unset_rid', 'T1', 4)) as unsent \gset
delete from vault.secrets where name = 'assignment_functions_url';
set local role service_role;
update public.bookings set party_size = 3 where id = :'unsent';
reset role;
select is(array[(select assignment_state from public.bookings where id = :'unsent'),
                private.slots_taken(:'unset_rid', now())::text],
  array['assignment_pending', '0'], 'a booking sent back that no request went out for holds no slot');

-- 7. The count reads its index by the time of the hand-out: private.handed_out_lately is inlined, not called
-- per row (a setting of its own, or a volatility it does not have, would keep the planner from it).
create function pg_temp.plan_of(p_sql text) returns text language plpgsql as $$
declare
  line text;
  plan text := '';
begin
  for line in execute 'explain (costs off) ' || p_sql loop
    plan := plan || line || E'\n';
  end loop;
  return plan;
end $$;
-- Read as private.slots_taken reads it since 20261231500000 (in the index's order, sorting off), so the plan
-- does not hang on how many pending bookings the statistics of the moment expect.
set local enable_seqscan = off;
set local enable_sort = off;
select matches(pg_temp.plan_of(format($$select 1 from public.bookings n
   where n.restaurant_id = %L and n.deferred_since is null and n.assignment_state = 'assignment_pending'
     and private.handed_out_lately(n.last_dispatched_at, n.updated_at, now())
   order by n.last_dispatched_at$$, :'rid')),
  'Index Cond: .*last_dispatched_at >', 'the hand-out count is an index range on the time of the hand-out');
reset enable_seqscan;

select * from finish();
rollback;
