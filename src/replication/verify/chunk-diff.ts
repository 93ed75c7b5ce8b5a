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

/** One table's rows on the leader and on one follower, at one consistent point. */
export interface RowPair {
  leader: RowHashes;
  follower: RowHashes;
}

/**
 * Of `keys`, those that differ at both consistent points in the same way: the leader's row and
 * the follower's row are each what they were at the first point, and still differ. A row that
 * changed on either side between the points had a write in flight at one of them (another
 * server's, whose commits this server's gate does not hold back): it gets no verdict.
 */
export function settledDifferences(keys: readonly string[], first: RowPair, second: RowPair): string[] {
  return keys.filter(
    (key) =>
      first.leader.get(key) === second.leader.get(key) &&
      first.follower.get(key) === second.follower.get(key) &&
      second.leader.get(key) !== second.follower.get(key),
  );
}

/** One compared follower's confirmed differences from the leader in one table, and its rows at those keys. */
export interface FollowerDiff {
  /** Differing keys of the table. */
  keys: string[];
  /** The follower's row hash at each of those keys (absent: no such row). */
  rows: Map<string, number | undefined>;
}

/**
 * The rows where the leader, not the followers, is the odd one out: with two or more followers
 * compared, every one of them differs from the leader there and they all hold the same thing.
 * Decided row by row, one table at a time: a follower already diverged elsewhere still votes on the
 * rows it agrees on.
 */
export function leaderOddRows(followers: readonly FollowerDiff[]): string[] {
  if (followers.length < 2) return [];
  const [first, ...rest] = followers;
  return first.keys.filter((key) => rest.every((other) => other.keys.includes(key) && other.rows.get(key) === first.rows.get(key)));
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
