-- The functions that count and wake a restaurant's queue, and the triggers that call them, never read bookings
-- sequentially, whatever the planner's statistics say (20261231280000). A plan cached while the table was small
-- stays for the connection's life; here every plan is generic, as a cached one is, and the planner is told
-- reading a table in sequence costs nothing, however large, which makes every such plan a sequential read
-- unless the function forbids it.
begin;
select plan(17);

-- Two slots; the first two bookings are dispatched, the two after them join the queue (the second insert
-- looks for a queue to join behind, as a slot is taken).
select tests.create_restaurant('Plans that stay') as rid \gset
select tests.add_table(:'rid', 'T1', 4) as t1 \gset
select ops.set_max_parallel(2, 'ana', :'rid', 'two slots') is not null as capped \gset

select tests.make_seq_reads_cheap() \gset
select tests.bookings_seq_reads() as before \gset
select count(*) as none from public.bookings where id = :'rid'::uuid \gset
select cmp_ok(tests.bookings_seq_reads(), '>', :'before'::bigint,
              'the planner is made to read bookings sequentially where nothing forbids it');

-- Each function called on its own, under these costs, before anything nests it: a generic plan, once made,
-- is the connection's, whoever calls the function next (the restaurant's set-up above called some of them
-- under the default costs, where a plan is made for the call and not kept). An empty queue: nothing taken,
-- nothing waiting, nothing to wake.
select tests.bookings_seq_reads() as before \gset
select is(array[private.slots_taken(:'rid', now())::text, private.queue_is_served(:'rid', now())::text,
                private.queue_head(:'rid', 1, now())::text, private.wake_bookings(array[:'rid']::uuid[], now())::text,
                private.wake_stranded_queues(now(), :'rid')::text],
          array['0', 'false', '{}', '0', '0'], 'an empty queue: no slot taken, none waiting, none woken');
select is(tests.bookings_seq_reads(), :'before'::bigint, 'and counting, reading and waking it read no booking sequentially');

-- Inserts as the platform makes them, through the Data API's role.
select tests.bookings_seq_reads() as before \gset
set local role service_role;
insert into public.bookings (restaurant_id, party_size, start_at)
values (:'rid', 2, '2030-07-01 18:00+00'), (:'rid', 2, '2030-07-01 19:00+00'), (:'rid', 2, '2030-07-01 20:00+00'),
       (:'rid', 2, '2030-07-01 21:00+00');
reset role;
select is(tests.bookings_seq_reads(), :'before'::bigint, 'a new booking takes its place in the queue without reading bookings whole');
select tests.make_seq_reads_cheap() \gset
select id as first from public.bookings where restaurant_id = :'rid' and start_at = '2030-07-01 18:00+00' \gset
select is(array(select deferred_since is not null from public.bookings where restaurant_id = :'rid' order by start_at),
          array[false, false, true, true], 'the first two are dispatched, the two after them queue behind their slots');
-- Inserted in one statement, the two share their insert time: the queue takes them by id after it.
select id as head from public.bookings where restaurant_id = :'rid' and deferred_since is not null
 order by created_at, id limit 1 \gset

select tests.bookings_seq_reads() as before \gset
select is(private.slots_taken(:'rid', now()), 2, 'both slots are taken');
select is(private.queue_head(:'rid', 1, now()), array[:'head'::uuid], 'the queue''s head is the first queued booking');
select ok(private.queue_is_served(:'rid', now()), 'the queue is served: the first two hold the slots');
select is(tests.bookings_seq_reads(), :'before'::bigint, 'counting the slots and reading the queue read no booking sequentially');

-- A claim that finds nothing looks for stranded queues, for every restaurant and for one.
select tests.bookings_seq_reads() as before \gset
select is(private.wake_stranded_queues(now()) + private.wake_stranded_queues(now(), :'rid'), 0,
          'no queue is stranded');
select is(tests.bookings_seq_reads(), :'before'::bigint, 'looking for stranded queues reads no booking sequentially');

-- The first booking begins, and its platform deletes it through the Data API's role: its slot is free, and the
-- trigger wakes the head.
select public.assignment_lease(:'first', 'dispatch') ->> 'outcome' as began \gset
select tests.bookings_seq_reads() as before \gset
set local role service_role;
delete from public.bookings where id = :'first';
reset role;
-- The delete's own read of its row is sequential too, under these costs; the trigger's wake adds none.
select is(tests.bookings_seq_reads(), :'before'::bigint + 1, 'the wake of a freed slot reads no booking sequentially');
select is((select next_attempt_at from public.bookings where id = :'head'), now(), 'and it woke the queue''s head');
select is(:'began'::text, 'ready', '(the first booking had begun)');

-- Woken by an operator's call, or the sweeper's: the wake alone.
select id as tail from public.bookings where restaurant_id = :'rid' and deferred_since is not null and id <> :'head' \gset
select tests.bookings_seq_reads() as before \gset
select is(private.wake_bookings(array[:'tail']::uuid[], now()), 1, 'a wake by id wakes the booking');
select is(tests.bookings_seq_reads(), :'before'::bigint, 'and reads no booking sequentially');

-- A later create or replace of one of them keeps these settings only if it restates them.
select is(array(select p.oid::regprocedure::text from pg_proc p
                 where p.oid in ('private.slots_taken(uuid, timestamptz)'::regprocedure,
                                 'private.queue_head(uuid, integer, timestamptz)'::regprocedure,
                                 'private.queue_is_served(uuid, timestamptz)'::regprocedure,
                                 'private.wake_bookings(uuid[], timestamptz)'::regprocedure,
                                 'private.wake_stranded_queues(timestamptz, uuid)'::regprocedure,
                                 'private.prepare_new_booking()'::regprocedure,
                                 'private.queue_waits(uuid, uuid)'::regprocedure,
                                 'private.wake_next_deferred()'::regprocedure)
                   and not coalesce(p.proconfig @> array['enable_seqscan=off', 'jit=off'], false)),
          '{}'::text[], 'each of them plans without sequential reads and without JIT');

select * from finish();
rollback;
