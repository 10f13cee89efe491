
-- Bookings: what the guest asked for, its lifecycle status, and the assignment pipeline's bookkeeping.
-- `assignment_state` is owned by the state machine (see …_assignment_state_machine.sql): only its RPC changes it.

-- A booking reference a guest can read out: 10 characters of Crockford's base32 (no I, L, O, U), ~49 random
-- bits, always starting with a letter so it never reads as a number (or as a phone number to the
-- personal-data checks, when it travels in a notification payload). The bytes come from a v4 UUID,
-- skipping the two that carry its version and variant bits.
create function private.new_booking_reference()
returns text language sql volatile set search_path = '' as $$
  select pg_catalog.substr('ABCDEFGHJKMNPQRSTVWXYZ', 1 + pg_catalog.get_byte(r.bytes, 0) % 22, 1)
      || pg_catalog.string_agg(pg_catalog.substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ',
                                                 1 + pg_catalog.get_byte(r.bytes, i) % 32, 1), '' order by i)
    from (select pg_catalog.uuid_send(pg_catalog.gen_random_uuid()) as bytes) r,
         pg_catalog.unnest(array[1, 2, 3, 4, 5, 7, 9, 10, 11]) as i
   group by r.bytes;
$$;

-- Where a booking stands, in the two groupings every part of the pipeline asks about. Queued: waiting for
-- tables, due at next_attempt_at — what the sweeper and the claim loop pick up. Unsettled: not yet at rest
-- (queued, being assigned, or assigned and not yet confirmed) — what "stuck" means to ops.
create function private.is_queued(p_state text)
returns boolean language sql immutable set search_path = '' as $$
  select p_state in ('created', 'capacity_verified', 'assignment_pending');
$$;

create function private.is_unsettled(p_state text)
returns boolean language sql immutable set search_path = '' as $$
  select private.is_queued(p_state) or p_state in ('assignment_in_progress', 'assigned');
$$;

create table public.bookings (
  id uuid primary key default gen_random_uuid(),
  restaurant_id uuid not null references public.restaurants (id) on delete cascade,
  reference text not null default private.new_booking_reference()
    constraint booking_reference_is_unique unique,
  party_size integer not null constraint booking_party_size_is_positive check (party_size > 0),
  start_at timestamptz not null,
  end_at timestamptz not null,
  -- Reset buffers captured from the turn-time policy when the booking is made, so a later policy
  -- change never moves an existing booking's blocked window.
  buffer_before_minutes integer not null default 0
    constraint booking_buffer_before_is_between_0_and_120_minutes check (buffer_before_minutes between 0 and 120),
  buffer_after_minutes integer not null default 0
    constraint booking_buffer_after_is_between_0_and_120_minutes check (buffer_after_minutes between 0 and 120),
  status text not null default 'pending'
    constraint booking_status_is_a_known_status
    check (status in ('pending', 'confirmed', 'checked_in', 'completed', 'no_show', 'cancelled')),
  assignment_state text not null default 'created'
    constraint booking_assignment_state_is_a_known_state
    check (assignment_state in ('created', 'capacity_verified', 'assignment_pending', 'assignment_in_progress',
                                'assigned', 'confirmed', 'manual_review', 'cancelled')),
  assignment_state_version integer not null default 1
    constraint booking_assignment_state_version_starts_at_one check (assignment_state_version >= 1),
  assignment_strategy text,
  assignment_mode text
    constraint booking_assignment_mode_is_known check (assignment_mode = any(private.pipeline_modes())),
  next_attempt_at timestamptz,
  attempt_count integer not null default 0
    constraint booking_attempt_count_is_not_negative check (attempt_count >= 0),
  lease_token uuid,
  lease_expires_at timestamptz,
  dispatch_count integer not null default 0
    constraint booking_dispatch_count_is_not_negative check (dispatch_count >= 0),
  last_dispatched_at timestamptz,
  deferred_since timestamptz,
  manual_review_reason text,
  customer_name text,
  customer_email text,
  customer_phone text,
  notes text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint booking_ends_after_it_starts check (end_at > start_at),
  constraint booking_lasts_at_most_12_hours check (end_at - start_at <= interval '12 hours'),
  constraint booking_lease_has_both_token_and_expiry check ((lease_token is null) = (lease_expires_at is null)),
  -- A booking in progress always carries a lease, so the sweeper can take it back when its worker dies
  -- (and it cannot hold one of the restaurant's in-progress slots forever).
  constraint booking_holds_a_lease_exactly_while_in_progress
    check ((assignment_state = 'assignment_in_progress') = (lease_token is not null)),
  -- A booking waiting for tables is always due at some time, so the sweeper or a coordinator picks it up.
  constraint booking_waiting_for_tables_is_due_for_an_attempt
    check (not private.is_queued(assignment_state) or next_attempt_at is not null),
  constraint booking_in_manual_review_has_a_reason
    check (assignment_state <> 'manual_review' or manual_review_reason is not null),
  constraint booking_manual_review_reason_has_no_email_or_phone_number
    check (not private.text_has_personal_data(manual_review_reason)),
  -- status is the guest-facing lifecycle, assignment_state the pipeline's; they must tell the same story.
  -- pending while tables are being found (or reviewed); confirmed, then checked_in / completed / no_show,
  -- only while the assignment is confirmed; cancelled in both or in neither.
  constraint booking_is_cancelled_in_both_status_and_assignment_state
    check ((status = 'cancelled') = (assignment_state = 'cancelled')),
  constraint booking_status_and_assignment_agree_on_confirmation
    check ((status in ('confirmed', 'checked_in', 'completed', 'no_show')) = (assignment_state = 'confirmed')),
  constraint booking_is_identified_within_its_restaurant unique (restaurant_id, id)
);
comment on table public.bookings is
  'A guest''s reservation. Inserting one starts automatic table assignment; `assignment_state` shows where it is. Customer fields are personal data and never leave this table in events or logs.';
comment on column public.bookings.end_at is 'When the party leaves. Derived from the turn-time policy when not given.';
comment on column public.bookings.next_attempt_at is 'When the pipeline should next work on this booking; null when nothing is due.';
comment on column public.bookings.assignment_mode is 'The mode the current or last attempt ran in.';
comment on column public.bookings.dispatch_count is
  'HTTP dispatches to the coordinator since it last picked the booking up; the sweeper escalates when it grows too large.';
comment on column public.bookings.deferred_since is
  'When the coordinator first deferred the booking (circuit open or rate limited) since its last state change; null when not waiting.';

create index bookings_restaurant_start_idx on public.bookings (restaurant_id, start_at);
create index bookings_due_idx on public.bookings (next_attempt_at) where next_attempt_at is not null;
create index bookings_assignment_state_idx on public.bookings (assignment_state, created_at);
create index bookings_created_at_idx on public.bookings (created_at);

-- The window during which a booking's tables are unavailable: its stay plus reset buffers.
create function private.blocked_window(b public.bookings)
returns tstzrange language sql immutable set search_path = '' as $$
  select pg_catalog.tstzrange(
    b.start_at - pg_catalog.make_interval(mins => b.buffer_before_minutes),
    b.end_at + pg_catalog.make_interval(mins => b.buffer_after_minutes), '[)');
$$;

alter table public.bookings enable row level security;
revoke all on public.bookings from public, anon, authenticated, service_role;
grant select, insert, update, delete on public.bookings to service_role;
grant execute on function private.new_booking_reference(), private.is_queued(text), private.is_unsettled(text)
  to service_role;

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
