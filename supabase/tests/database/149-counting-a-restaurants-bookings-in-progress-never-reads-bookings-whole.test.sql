-- The lease's slot count and the max_parallel trigger's count a restaurant's bookings in progress through
-- private.bookings_in_progress, which never reads bookings sequentially, whatever the planner's statistics say
-- (20261231290000). As in 148: every plan generic, as a cached one is, and a sequential read told to cost
-- nothing, however large, which makes every plan a sequential read unless the function forbids it.
begin;
select plan(11);

-- Three slots, three bookings, each dispatched.
select tests.create_restaurant('Counted by index') as rid \gset
select tests.add_table(:'rid', 'T1', 4) as t1 \gset
select ops.set_max_parallel(3, 'ana', :'rid', 'three slots') is not null as capped \gset
set local role service_role;
insert into public.bookings (restaurant_id, party_size, start_at)
values (:'rid', 2, '2030-07-01 18:00+00'), (:'rid', 2, '2030-07-01 19:00+00'), (:'rid', 2, '2030-07-01 20:00+00');
reset role;
select id as first from public.bookings where restaurant_id = :'rid' and start_at = '2030-07-01 18:00+00' \gset
select id as second from public.bookings where restaurant_id = :'rid' and start_at = '2030-07-01 19:00+00' \gset
select id as third from public.bookings where restaurant_id = :'rid' and start_at = '2030-07-01 20:00+00' \gset

select tests.make_seq_reads_cheap() \gset
select tests.bookings_seq_reads() as before \gset
select count(*) as none from public.bookings where id = :'rid'::uuid \gset
select cmp_ok(tests.bookings_seq_reads(), '>', :'before'::bigint,
              'the planner is made to read bookings sequentially where nothing forbids it');

-- A later create or replace keeps these settings only if it restates them.
select ok((select proconfig @> array['enable_seqscan=off', 'jit=off'] from pg_proc
            where oid = 'private.bookings_in_progress(uuid, uuid)'::regprocedure),
          'the count plans without sequential reads and without JIT');

-- Called on its own first, so the generic plan it keeps is made under these costs.
select tests.bookings_seq_reads() as before \gset
select is(private.bookings_in_progress(:'rid'), 0, 'nothing is in progress yet');
select is(tests.bookings_seq_reads(), :'before'::bigint, 'and counting it read no booking sequentially');

select is(public.assignment_lease(:'first', 'dispatch') ->> 'outcome', 'ready', 'the first booking begins');
select is(public.assignment_lease(:'second', 'dispatch') ->> 'outcome', 'ready', 'so does the second');
select tests.make_seq_reads_cheap() \gset
select tests.bookings_seq_reads() as before \gset
select is(array[private.bookings_in_progress(:'rid'), private.bookings_in_progress(:'rid', :'first'),
                private.bookings_in_progress(:'rid', :'third')],
          array[2, 1, 2], 'both count as in progress; the one left out does not, one not in progress changes nothing');
select is(tests.bookings_seq_reads(), :'before'::bigint, 'and counting them read no booking sequentially');

-- The trigger and the lease take their counts from it: told every slot is taken while one is free, the third
-- walked into progress is refused, and its lease defers it for a slot.
create or replace function private.bookings_in_progress(p_restaurant_id uuid, p_except uuid default null)
returns integer language sql stable set search_path = '' as $$ select 3 $$;
select throws_ok(
  format($$select private.walk_assignment_states(%L, array['capacity_verified', 'assignment_pending', 'assignment_in_progress'],
                                                  (select assignment_state_version from public.bookings where id = %L),
                                                  null, array['{}', '{}', '{}']::jsonb[], 'test', null, now())$$, :'third', :'third'),
  'AS006', null, 'the trigger that holds the limit counts through it');

select is(public.assignment_lease(:'third', 'dispatch') ->> 'outcome', 'rate_limited',
          'so does the lease');
select is((select assignment_state from public.bookings where id = :'third'), 'assignment_pending',
          'and the third waits for a slot');

select * from finish();
rollback;
