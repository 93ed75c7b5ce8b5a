/**
 * The pure half of the consistency check: comparing what each node's snapshot summarised. Chunk
 * checksums narrow the search; row hashes then name the rows. Nothing here talks to a database.
 */

/** Per chunk of one table on one node: "count:sum of row hashes", by chunk id. */
export type ChunkSums = Map<string, string>;

/** Per row of one table on one node: the row's hash, by the row's key as text. */
export type RowHashes = Map<string, number>;

/** Chunks whose count or checksum differs between the two nodes, a chunk one of them lacks included. */
export function differingChunks(leader: ChunkSums, follower: ChunkSums): string[] {
  const chunks = new Set([...leader.keys(), ...follower.keys()]);
  return [...chunks].filter((chunk) => leader.get(chunk) !== follower.get(chunk)).sort(byKey);
}

/** Keys whose row differs between the two nodes, or exists on one only; `among` limits the keys compared. */
export function differingKeys(leader: RowHashes, follower: RowHashes, among?: Iterable<string>): string[] {
  const keys = among ? new Set(among) : new Set([...leader.keys(), ...follower.keys()]);
  return [...keys].filter((key) => leader.get(key) !== follower.get(key)).sort(byKey);
}

/** Keys found differing both times: a difference seen once may have been another server's write in flight. */
export function confirmed(first: readonly string[], second: readonly string[]): string[] {
  const again = new Set(second);
  return first.filter((key) => again.has(key));
}

/** One compared follower's confirmed differences from the leader, and its rows at those keys. */
export interface FollowerDiff {
  /** Differing keys, as "table/key", sorted. */
  keys: string[];
  /** The follower's row hash at each of those keys (absent: no such row). */
  rows: Map<string, number | undefined>;
}

/**
 * True when the leader, not the followers, is the odd one out: two or more followers compared,
 * every one differs from the leader in exactly the same rows, and they hold the same thing there.
 */
export function leaderIsOddOneOut(followers: readonly FollowerDiff[]): boolean {
  if (followers.length < 2) return false;
  const [first, ...rest] = followers;
  if (first.keys.length === 0) return false;
  return rest.every(
    (other) =>
      other.keys.length === first.keys.length &&
      other.keys.every((key, i) => key === first.keys[i] && other.rows.get(key) === first.rows.get(key)),
  );
}

/** Orders integer keys numerically ("9" before "10"), anything else as text. */
export function byKey(a: string, b: string): number {
  const integer = /^-?\d+$/;
  if (integer.test(a) && integer.test(b)) {
    const d = BigInt(a) - BigInt(b);
    return d < 0n ? -1 : d > 0n ? 1 : 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}
