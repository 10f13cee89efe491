-- An index an operator built ahead of a migration is kept only as the migration builds it
-- (private.refuse_indexes_not_as_built, 20261231120000): an invalid one, as a concurrent build that did not
-- finish leaves it, or one on other columns is refused, naming it.
begin;
select plan(4);

create function pg_temp.expected() returns jsonb language sql as $$
  select jsonb_build_object(
    'bookings_queue_order_idx',
    'public.bookings USING btree (restaurant_id, created_at, id) WHERE (deferred_since IS NOT NULL)',
    'observability_events_row_failed_idx',
    'public.observability_events USING btree (booking_id, created_at) WHERE (event_type = ''sweeper.row_failed''::text)');
$$;

select lives_ok($$select private.refuse_indexes_not_as_built(pg_temp.expected())$$,
  'the indexes as the migration builds them pass');
select lives_ok($$select private.refuse_indexes_not_as_built(jsonb_build_object('no_such_idx', 'public.bookings USING btree (id)'))$$,
  'one not built yet is the migration''s to build');

-- Built ahead on other columns, under the migration's name.
drop index public.bookings_queue_order_idx;
create index bookings_queue_order_idx on public.bookings (restaurant_id) where deferred_since is not null;
select throws_ok($$select private.refuse_indexes_not_as_built(pg_temp.expected())$$, 'AS005',
  'index bookings_queue_order_idx is invalid (a concurrent build that did not finish) or not as this migration builds it',
  'one built on other columns is refused, by name');

-- Left invalid by a concurrent build that did not finish (marked so by hand: a concurrent build cannot run here).
drop index public.bookings_queue_order_idx;
create index bookings_queue_order_idx on public.bookings (restaurant_id, created_at, id) where deferred_since is not null;
update pg_catalog.pg_index set indisvalid = false where indexrelid = 'public.bookings_queue_order_idx'::regclass;
select throws_ok($$select private.refuse_indexes_not_as_built(pg_temp.expected())$$, 'AS005', null,
  'an invalid one is refused');

select * from finish();
rollback;
