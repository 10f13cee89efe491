-- A guest's message outlasts a mail provider's outage, can be sent again by an operator, and is phrased by
-- what the guest has really received.
--
-- A liveness review found:
--   * a failed send was retried 8 times, 1 s to 128 s apart, and then marked dead: about four minutes. A
--     provider down for five left every guest confirmed meanwhile without a message for good, and nothing
--     could queue it again (the outbox is not the API roles' to write, and no ops function did it);
--   * tell_guest counts a message being sent as heard, so a change while the confirmation was on its way
--     queued "booking_changed". When that confirmation then failed, the claim superseded it (a newer message
--     exists) and the guest's only message said "changed"; likewise a cancellation for a guest told nothing.
-- Now a failed send is retried 16 times, the waits doubling from 1 s up to an hour (about five hours in
-- all); ops.resend_dead_messages queues dead messages about bookings still ahead again; and a claim
-- decides the wording against what was sent: "changed" to a guest who received nothing yet (every earlier
-- message failed or was never sent) goes out as "confirmed", and a cancellation to such a guest is
-- superseded. A message whose sender never reported back may have arrived, so it counts as received: a
-- guest is not confirmed twice. (A send the sender reported failed counts as not received, on its word.)

-- How many sends a message gets before it is dead.
create function private.message_max_attempts()
returns integer language sql immutable set search_path = '' as $$
  select 16;
$$;

-- Body as in 20261201101000 (renamed in 20261209020000), with the longer retries and a scrubbed, shortened
-- error (private.scrub_and_cut).
create or replace function private.notification_complete_unchecked(p_id bigint, p_lease_token uuid, p_ok boolean,
                                                                   p_error text default null,
                                                                   p_now timestamptz default now())
returns text language plpgsql security definer set search_path = '' as $$
declare
  row public.notification_outbox;
  dead boolean;
begin
  if p_lease_token is null then
    raise exception using errcode = 'AS005', message = 'lease_token is required: pass the one notification_claim returned';
  end if;
  select * into row from public.notification_outbox where id = p_id for update;
  if not found then
    raise exception using errcode = 'AS005', message = pg_catalog.format('notification %s does not exist', p_id);
  end if;
  if row.lease_token is distinct from p_lease_token then
    -- Claimed again since (this caller's lease ran out): the current holder records the result.
    perform private.record_event('notifications', 'notification.lease_lost', 'warning',
      pg_catalog.jsonb_build_object('kind', row.kind, 'attempts', row.attempts, 'status', row.status, 'ok', p_ok),
      row.restaurant_id, row.booking_id);
    return 'lease_lost';
  end if;
  if row.status <> 'sending' then
    return row.status; -- this claim's result is already recorded: nothing to do
  end if;
  if p_ok then
    update public.notification_outbox set status = 'sent', sent_at = p_now, lease_expires_at = null, last_error = null
     where id = p_id;
    return 'sent';
  end if;
  dead := row.attempts >= private.message_max_attempts();
  update public.notification_outbox
     set status = case when dead then 'dead' else 'pending' end,
         lease_expires_at = null,
         last_error = private.scrub_and_cut(coalesce(p_error, 'unknown error'), 500),
         next_attempt_at = p_now + pg_catalog.make_interval(secs => private.backoff_ms(row.attempts + 1, 1000, 3600000, 0) / 1000.0)
   where id = p_id;
  perform private.record_event('notifications', 'notification.failed', case when dead then 'error' else 'warning' end,
    pg_catalog.jsonb_build_object('kind', row.kind, 'attempts', row.attempts, 'dead', dead),
    row.restaurant_id, row.booking_id);
  return case when dead then 'dead' else 'pending' end;
end $$;

-- Body as in 20261202100000 (renamed in 20261209020000), with the wording decided against what was sent.
create or replace function private.notification_claim_unchecked(p_limit integer default 20, p_lease_ms integer default 60000,
                                                                p_now timestamptz default now())
returns table (id bigint, lease_token uuid, booking_id uuid, kind text, dedupe_key text, payload jsonb, attempts integer,
               recipient_email text, recipient_name text)
language plpgsql security definer set search_path = '' as $$
begin
  if p_limit is null or p_limit not between 1 and 500 then
    raise exception using errcode = 'AS005', message = 'limit must be between 1 and 500';
  end if;
  return query
  with due as (
    select o.id,
           -- A cancellation is news only to a guest who received something of the booking.
           private.message_is_current(o, b)
             and (o.kind <> 'booking_cancelled' or heard.any) as current,
           -- A change is a confirmation to a guest who received nothing yet.
           case when o.kind = 'booking_changed' and not heard.any then 'booking_confirmed' else o.kind end as says
      from public.notification_outbox o join public.bookings b on b.id = o.booking_id,
           -- Received, or perhaps: sent, or handed to a sender that never reported back (its lease ran out).
           -- A send that failed was not received.
           lateral (select exists (select 1 from public.notification_outbox s
                                    where s.booking_id = o.booking_id and s.seq < o.seq
                                      and s.status in ('sent', 'sending')) as any) heard
     where ((o.status = 'pending' and o.next_attempt_at <= p_now)
            or (o.status = 'sending' and o.lease_expires_at <= p_now))
       and not exists (select 1 from public.notification_outbox e
                        where e.booking_id = o.booking_id and e.seq < o.seq
                          and e.status = 'sending' and e.lease_expires_at > p_now)
     order by o.next_attempt_at
     limit p_limit
     for update of o skip locked),
  -- Runs to completion though nothing reads it, as every data-modifying WITH does.
  dropped as (
    update public.notification_outbox o
       set status = 'superseded', lease_token = null, lease_expires_at = null
      from due where o.id = due.id and not due.current
    returning o.id),
  claimed as (
    update public.notification_outbox o
       set status = 'sending', attempts = o.attempts + 1, lease_token = pg_catalog.gen_random_uuid(),
           lease_expires_at = p_now + pg_catalog.make_interval(secs => p_lease_ms / 1000.0),
           kind = due.says, payload = o.payload || pg_catalog.jsonb_build_object('kind', due.says)
      from due where o.id = due.id and due.current
    returning o.*)
  select c.id, c.lease_token, c.booking_id, c.kind, c.dedupe_key, c.payload, c.attempts, b.customer_email, b.customer_name
    from claimed c join public.bookings b on b.id = c.booking_id;
end $$;

-- After an outage: every dead message about a booking still ahead that still describes it (nothing newer
-- replaced it, the booking is still what it says) is queued again, due now, with its tries counted afresh.
-- The rest stay dead: a message about a booking already begun or past is no use to the guest. Recorded in
-- the settings audit (ops.rollout_log) with who and why, scrubbed; the event has the count only.
create function ops.resend_dead_messages(p_actor text, p_reason text, p_restaurant_id uuid default null)
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  actor text := private.act_as(p_actor, p_reason);
  queued integer;
  still_dead integer;
begin
  if coalesce(pg_catalog.btrim(p_reason), '') = '' then
    raise exception using errcode = 'AS005', message = 'say why the messages may go now: pass p_reason (what was fixed)';
  end if;
  if p_restaurant_id is not null and not exists (select 1 from public.restaurants where id = p_restaurant_id) then
    raise exception using errcode = 'AS005', message = pg_catalog.format('restaurant %s does not exist', p_restaurant_id);
  end if;
  with again as (
    update public.notification_outbox o
       set status = 'pending', attempts = 0, next_attempt_at = pg_catalog.now(), last_error = null
      from public.bookings b
     where b.id = o.booking_id and o.status = 'dead'
       and (p_restaurant_id is null or o.restaurant_id = p_restaurant_id)
       and b.start_at > pg_catalog.now()
       and private.message_is_current(o, b)
    returning o.id)
  select count(*)::int into queued from again;
  select count(*)::int into still_dead from public.notification_outbox o
   where o.status = 'dead' and (p_restaurant_id is null or o.restaurant_id = p_restaurant_id);
  insert into public.pipeline_settings_audit (actor, database_role, scope, setting, old_value, new_value, reason)
  values (actor,
          case when pg_catalog.current_setting('role') = 'none' then session_user::text
               else pg_catalog.current_setting('role') end,
          coalesce(p_restaurant_id::text, 'global'), 'dead_messages',
          pg_catalog.jsonb_build_object('dead', queued + still_dead),
          pg_catalog.jsonb_build_object('queued', queued, 'dead', still_dead), p_reason);
  perform private.record_event('assignment.ops', 'ops.messages_resent', 'info',
    pg_catalog.jsonb_build_object('queued', queued, 'still_dead', still_dead), p_restaurant_id, null);
  return pg_catalog.jsonb_build_object('queued', queued, 'still_dead', still_dead);
end $$;
comment on function ops.resend_dead_messages(text, text, uuid) is
  'After a sender''s outage: queue again, due now, every dead guest message (of one restaurant, or all) about a booking still ahead that still describes it, with its tries counted afresh. p_actor and p_reason are required and recorded in ops.rollout_log. Returns {queued, still_dead}; the dispatcher sends them on its next run (the sweeper starts it within 5 s). The dedupe key is unchanged, so a message the sender did deliver before reporting a failure is not delivered twice by a sender that honours it.';

comment on function public.notification_complete(bigint, uuid, boolean, text, timestamptz) is
  'Record the result of sending a claimed notification, with the lease token its claim returned: sent, or a failure retried with backoff (1 s doubling to an hour; dead after 16 tries, about five hours; ops.resend_dead_messages queues dead ones again). Returns the new status, or lease_lost (nothing written) when the row has been claimed again since. p_now is for tests run by the database owner: through the Data API it must be left out (AS005).';
comment on function public.notification_claim(integer, integer, timestamptz) is
  'Claim due guest messages for sending (lease of p_lease_ms, 1000–3600000; an expired lease makes the row claimable again), each re-checked against its booking: a message that no longer describes it, or that a newer one replaced, is superseded instead, and its wording follows what the guest received (a change to a guest sent nothing yet goes out as booking_confirmed; a cancellation to such a guest is superseded). Each row comes with the lease_token notification_complete needs. Returns the recipient for the sender; never log it. p_now is for tests run by the database owner: through the Data API it must be left out (AS005).';

revoke all on function ops.resend_dead_messages(text, text, uuid) from public, anon, authenticated;
grant execute on function ops.resend_dead_messages(text, text, uuid) to service_role;

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
