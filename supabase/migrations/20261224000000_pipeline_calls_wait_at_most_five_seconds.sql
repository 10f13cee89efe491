-- The pipeline's calls wait for a lock at most five seconds; the ops reads refuse a clock or window they cannot
-- measure; the rollout log keeps at least 90 days.
--
-- A review of the functions' database calls found that none of them had a time limit: a coordinator's lease or
-- commit waiting behind an operator's bulk call (or a session left open in Studio holding a restaurant's lock)
-- waited as long as that lock was held, and with it the instance's whole drain, until the platform ended the
-- request. A client-side timer cannot help behind a transaction pooler that drops startup parameters, and a
-- SET LOCAL would cost every call a statement; a function's own SET clause costs neither and holds for every
-- lock the call waits for, nested functions included. So the RPCs the coordinator calls wait at most 5 s for a
-- lock (55P03 lock_not_available). The coordinator treats it as a race: a lease that gave up leaves the booking
-- as it was, to come back with the next claim (about 10 s), exactly as a booking waiting behind the lock would
-- have been claimed again meanwhile; a commit that gave up ends its attempt as a conflict, retried and not
-- counted by the breaker (unless that report cannot take the lock either: then the lease runs out and counts
-- as any expired lease does). Held waits in the pipeline itself are milliseconds (the drop of 300 bookings: p95
-- under 20 ms). The guest-message calls keep waiting (a send whose result could not be recorded would be sent
-- again), and so does the hand-over sweep: its per-booking error handling would take a lock wait that gave up
-- for a failure of that booking and send it to manual review.
--
-- ops.health(p_now) failed with "cannot subtract infinite timestamps" for an infinite clock and answered nulls
-- for a null one; ops.pipeline_metrics answered an empty window for null or reversed bounds as if nothing had
-- happened. Both now refuse such arguments (AS005) and otherwise answer as before: their bodies move to
-- private under an _unchecked name, as the coordinator's RPCs' did in 20261209020000. Health also answers
-- "down" with the error among its problems when a part of it cannot be read: it read Vault directly, so a Vault
-- that cannot be decrypted made the operator's first call fail exactly when dispatch was broken.
--
-- ops.set_retention('pipeline_settings_audit', 1, …) let one call prune the whole rollout log the next night,
-- the record of that very change included a day later. The audit keeps at least 90 days (a rollout takes two
-- to three weeks, then a week stable); a setting below that is raised to it here. Body as in 20261201101800
-- otherwise.

alter function public.assignment_lease(uuid, text, integer, text, timestamptz) set lock_timeout = '5s';
alter function public.assignment_begin(uuid, text, integer, text, timestamptz) set lock_timeout = '5s';
alter function public.assignment_commit(uuid, uuid, uuid[], text, integer, jsonb, jsonb, jsonb, timestamptz)
  set lock_timeout = '5s';
alter function public.assignment_fail(uuid, uuid, text, text, integer, jsonb, jsonb, timestamptz) set lock_timeout = '5s';
alter function public.assignment_claim_due(integer, uuid, integer, timestamptz) set lock_timeout = '5s';
alter function public.review_reseating_due(integer, uuid) set lock_timeout = '5s';
alter function public.review_reseating_probes(uuid) set lock_timeout = '5s';
alter function public.review_offer_reseating(uuid, text, jsonb, jsonb, integer) set lock_timeout = '5s';

alter function ops.health(timestamptz) set schema private;
alter function private.health(timestamptz) rename to health_unchecked;
alter function ops.pipeline_metrics(timestamptz, timestamptz, uuid) set schema private;
alter function private.pipeline_metrics(timestamptz, timestamptz, uuid) rename to pipeline_metrics_unchecked;

create function private.check_finite(p_name text, p_at timestamptz)
returns void language plpgsql immutable set search_path = '' as $$
begin
  if p_at is null or not pg_catalog.isfinite(p_at) then
    raise exception using errcode = 'AS005',
      message = pg_catalog.format('%s must be a finite time, not %s', p_name, coalesce(p_at::text, 'null'));
  end if;
end $$;

create function ops.health(p_now timestamptz default now())
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  failed_state text;
  failed_message text;
begin
  perform private.check_finite('p_now', p_now);
  return private.health_unchecked(p_now);
exception when others then
  get stacked diagnostics failed_state = returned_sqlstate, failed_message = message_text;
  if failed_state = 'AS005' then
    raise;
  end if;
  -- Health is what an operator reads first when something is wrong: a part of it that cannot be read (Vault's
  -- secrets that cannot be decrypted, say) is its answer, not an error that hides every other line.
  return pg_catalog.jsonb_build_object('status', 'down', 'checked_at', p_now,
    'problems', pg_catalog.jsonb_build_array(pg_catalog.format('health could not be read in full: %s (SQLSTATE %s)',
                                             private.scrub_and_cut(failed_message, 300), failed_state)));
end $$;

create function ops.pipeline_metrics(p_from timestamptz default now() - interval '24 hours',
                                     p_to timestamptz default now(), p_restaurant_id uuid default null)
returns jsonb language plpgsql stable security definer set search_path = '' as $$
begin
  perform private.check_finite('p_from', p_from);
  perform private.check_finite('p_to', p_to);
  if p_from >= p_to then
    raise exception using errcode = 'AS005',
      message = pg_catalog.format('p_from (%s) must be before p_to (%s)', p_from, p_to);
  end if;
  return private.pipeline_metrics_unchecked(p_from, p_to, p_restaurant_id);
end $$;

do $$
declare
  f record;
begin
  for f in select * from (values ('health', 'timestamptz'), ('pipeline_metrics', 'timestamptz, timestamptz, uuid')) v(name, args)
  loop
    execute pg_catalog.format('comment on function ops.%I(%s) is %L', f.name, f.args,
      pg_catalog.obj_description(pg_catalog.format('private.%I_unchecked(%s)', f.name, f.args)::regprocedure, 'pg_proc')
      || case f.name when 'health' then ' p_now must be a finite time (AS005).'
                     else ' p_from and p_to must be finite times, p_from before p_to (AS005).' end);
    execute pg_catalog.format('comment on function private.%I_unchecked(%s) is %L', f.name, f.args,
      pg_catalog.format('The body of ops.%s, which checks its arguments and calls this.', f.name));
  end loop;
end $$;

create or replace function ops.set_retention(p_table text, p_days integer, p_actor text, p_reason text default null)
returns jsonb language plpgsql security definer set search_path = '' as $$
begin
  perform private.act_as(p_actor, p_reason);
  if p_table is null or p_table not in ('observability_events', 'shadow_comparisons', 'pipeline_settings_audit') then
    raise exception using errcode = 'AS005',
      message = 'table must be observability_events, shadow_comparisons or pipeline_settings_audit';
  end if;
  if p_days is null or p_days not between 1 and 3650 then
    raise exception using errcode = 'AS005', message = 'retention must be between 1 and 3650 days';
  end if;
  if p_table = 'pipeline_settings_audit' and p_days < 90 then
    raise exception using errcode = 'AS005',
      message = 'the rollout log (pipeline_settings_audit) keeps at least 90 days',
      hint = 'It is the record of every rollout step and who took it.';
  end if;
  update private.rollout_settings
     set event_retention_days = case when p_table = 'observability_events' then p_days else event_retention_days end,
         shadow_retention_days = case when p_table = 'shadow_comparisons' then p_days else shadow_retention_days end,
         audit_retention_days = case when p_table = 'pipeline_settings_audit' then p_days else audit_retention_days end,
         updated_at = pg_catalog.now();
  return ops.rollout_status();
end $$;
comment on function ops.set_retention(text, integer, text, text) is
  'How many days rows of observability_events (default 30), shadow_comparisons (90) or pipeline_settings_audit (365, at least 90) are kept; older ones are pruned nightly.';

do $$
begin
  if exists (select 1 from private.rollout_settings where audit_retention_days < 90) then
    perform private.act_as('migration 20261224000000', 'the rollout log keeps at least 90 days');
    update private.rollout_settings set audit_retention_days = 90, updated_at = pg_catalog.now()
     where audit_retention_days < 90;
  end if;
end $$;

revoke all on function ops.health(timestamptz), ops.pipeline_metrics(timestamptz, timestamptz, uuid)
  from public, anon, authenticated;
grant execute on function ops.health(timestamptz), ops.pipeline_metrics(timestamptz, timestamptz, uuid) to service_role;
-- The bodies moved here from ops lose service_role's grant; nothing of private is callable by the API roles.
revoke all on function private.health_unchecked(timestamptz),
  private.pipeline_metrics_unchecked(timestamptz, timestamptz, uuid) from service_role;
revoke all on all routines in schema private from public, anon, authenticated;
