-- The review queue shows the last message the guest received, so an operator knows who holds a confirmation
-- (20261210180000).
begin;
select plan(3);

select tests.create_restaurant('Told') as rid \gset
select tests.add_table(:'rid', 'G1', 4) as g1 \gset
select tests.create_booking(:'rid', 2, '2030-12-02 19:00+00') as told \gset
select ops.assign_tables(:'told', array['G1'], 'ana') ->> 'outcome' as confirmed \gset
-- The dispatcher sent the confirmation.
update public.notification_outbox set status = 'sent', sent_at = now() where booking_id = :'told';

-- Its table goes out of service; the re-check sends it back, and nothing fits: review.
-- The platform takes the table out of service through the Data API.
set local role service_role;
update public.restaurant_tables set out_of_service = true where id = :'g1';
reset role;
select private.recheck_floor_plans(clock_timestamp() + interval '1 minute', interval '10 seconds', :'rid') ->> 'replanned' as replanned \gset
select public.transition_assignment_state(:'told', 'manual_review', tests.version_of(:'told'),
  'no_table_fits: no free table or combination seats the party') ->> 'to' as reviewed \gset
select is((select guest_was_told from ops.manual_review_queue(:'rid') where booking_id = :'told'),
  'booking_confirmed: 2030-12-02 19:00, party of 2', 'a booking whose guest holds a confirmation says so');

-- One the guest has heard nothing of.
select tests.create_booking(:'rid', 2, '2030-12-03 19:00+00') as unheard \gset
select public.transition_assignment_state(:'unheard', 'manual_review', tests.version_of(:'unheard'),
  'no_table_fits: no free table or combination seats the party') ->> 'to' as reviewed \gset
select is((select guest_was_told from ops.manual_review_queue(:'rid') where booking_id = :'unheard'), 'nothing yet',
  'one never confirmed says nothing was sent');
select is((select count(*)::int from ops.manual_review_queue(:'rid')), 2, 'both are in the queue');

select * from finish();
rollback;
