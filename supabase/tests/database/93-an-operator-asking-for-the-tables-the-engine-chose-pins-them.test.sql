-- An operator asking for the tables the engine chose pins the booking there (20261228000000): the tables are
-- held again as the operator's, so no re-optimisation moves them, and the request is recorded.
begin;
select plan(8);

select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'T1', 2) as t1 \gset
select tests.add_table(:'rid', 'T2', 4) as t2 \gset
select ops.set_reoptimization(true, 'ana', :'rid', 'pool the evening') is not null as pooled \gset
-- The pipeline seated a couple on the 4-top.
select tests.confirmed_on(:'rid', 2, '2030-11-04 19:00+00', :'t2') as couple \gset
select count(*) as messages_before from public.notification_outbox where booking_id = :'couple' \gset

select is(ops.assign_tables(:'couple', array['T2'], 'ana', 'regular, window table') ->> 'outcome', 'confirmed',
  'asking for the table the engine chose is not answered unchanged');
select is((select string_agg(source || ' ' || assigned_by, ', ') from public.booking_table_assignments
            where booking_id = :'couple' and released_at is null),
  'ops ana', 'the table is held as the operator''s');
select ok((select count(*) from public.booking_assignment_state_history
            where booking_id = :'couple' and actor = 'ana' and reason like '%regular, window table') > 0,
  'the history records the operator and the reason');
select is((select context from public.observability_events where booking_id = :'couple' and event_type = 'ops.manual_assign'),
  '{"tables": ["T2"], "previous": ["T2"]}'::jsonb, 'and an ops.manual_assign event says what was asked');
select is((select count(*) from public.notification_outbox where booking_id = :'couple'), :messages_before::bigint,
  'the guest is told nothing: their booking did not change');
select is(ops.assign_tables(:'couple', array['T2'], 'ana') ->> 'outcome', 'unchanged',
  'asking again changes nothing');

-- A party of four for the same time: the engine may not move the couple to the 2-top to make room.
select tests.create_booking(:'rid', 4, '2030-11-04 19:00+00') as four \gset
select public.assignment_begin(:'four') as began \gset
select is((:'began'::jsonb) -> 'snapshot' -> 'placed' -> 0 ->> 'locked', 'true', 'the engine sees the couple locked');
select is(public.assignment_commit(:'four', ((:'began'::jsonb) ->> 'lease_token')::uuid, array[:'t2']::uuid[],
            'scarcity_fit', 1, '{}', null,
            jsonb_build_array(jsonb_build_object('booking_id', :'couple', 'from_table_ids', array[:'t2'], 'to_table_ids', array[:'t1'])))
          ->> 'outcome' || ' ' || tests.tables_held(:'couple'),
  'conflict T2', 'and a commit that moves it anyway moves nobody');

select * from finish();
rollback;
