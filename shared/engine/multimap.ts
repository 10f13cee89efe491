// Lists kept by key. Appending in place: a list copied on every append costs the square of its length, and a
// zone of a few hundred tables that all join would cost the engine seconds per booking in copies alone.

/** Appends `value` to the list kept under `key`, starting one if there is none. */
export function appendTo<K, V>(lists: Map<K, V[]>, key: K, value: V): void {
  const list = lists.get(key);
  if (list) list.push(value);
  else lists.set(key, [value]);
}
