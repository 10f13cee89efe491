-- Buffers given with a change of time or party size are kept.
--
-- A review of the changes a platform makes found that an UPDATE changing a booking's time or party size and its
-- buffers at once (party_size = 8, buffer_after_minutes = 45) was stored with the turn policy's buffers instead:
-- the policy is re-applied on such a change, and it set both buffers whatever the UPDATE gave. A buffer the
-- same UPDATE changes is now kept, as an end it gives already was (20261210130000). Body as in
-- 20261210130000, with that change.

create or replace function private.reapply_turn_policy()
returns trigger language plpgsql security definer set search_path = '' as $$
declare
  given public.bookings := new;
begin
  if new.start_at is distinct from old.start_at or new.party_size is distinct from old.party_size then
    if new.end_at is distinct from old.end_at then
      new := private.apply_turn_policy(new, false);
    elsif old.end_at is distinct from (private.apply_turn_policy(old, true)).end_at then
      new := private.apply_turn_policy(new, false);
      new.end_at := new.start_at + (old.end_at - old.start_at);
    else
      new := private.apply_turn_policy(new, true);
    end if;
    -- Buffers given in the same change are the platform's, as an end given is.
    if given.buffer_before_minutes is distinct from old.buffer_before_minutes then
      new.buffer_before_minutes := given.buffer_before_minutes;
    end if;
    if given.buffer_after_minutes is distinct from old.buffer_after_minutes then
      new.buffer_after_minutes := given.buffer_after_minutes;
    end if;
  end if;
  return new;
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
