import type { DataSource } from 'typeorm';
import { FollowerNode, LeaderNode, type PgNode } from '../../src/replication/nodes/cluster-node';
import { readAtLeast, type PositionAttempt } from '../../src/replication/read/position-read';

/** The waiting and falling back of a read at a position, with scripted answers (the check itself runs in e2e tests). */
const ds = {} as DataSource;
const leader = new LeaderNode('leader', ds, 'postgres://leader');
const f1 = new FollowerNode('follower-1', ds, 'postgres://f1');
const f2 = new FollowerNode('follower-2', ds, 'postgres://f2');

/** A tryNode answering from `script` per node (the last answer repeats), counting the asks. */
function scripted(script: Record<string, PositionAttempt<string>['kind'][]>) {
  const asked: string[] = [];
  const tryNode = async (node: PgNode): Promise<PositionAttempt<string>> => {
    asked.push(node.name);
    const answers = script[node.name];
    const kind = answers.length > 1 ? answers.shift()! : answers[0];
    if (kind === 'served') return { kind, value: node.name };
    if (kind === 'failed') return { kind, failure: 'connection failed' };
    return { kind };
  };
  return { asked, tryNode };
}

test('the first node that has it serves; the leader after followers that lack it, without waiting', async () => {
  const { asked, tryNode } = scripted({ 'follower-1': ['lacks'], 'follower-2': ['silent'], leader: ['served'] });
  const read = await readAtLeast([f1, f2, leader], 7n, { waitMs: 60_000, checkMs: 1000 }, false, tryNode);
  expect(read.value).toBe('leader');
  expect(asked).toEqual(['follower-1', 'follower-2', 'leader']);
});

test('a node that lacks it is asked again until it has it; one that was silent or failed is not', async () => {
  const { asked, tryNode } = scripted({ 'follower-1': ['lacks', 'lacks', 'served'], 'follower-2': ['silent'] });
  const read = await readAtLeast([f2, f1], 7n, { waitMs: 60_000, checkMs: 1000 }, true, tryNode);
  expect(read.node).toBe(f1);
  expect(asked).toEqual(['follower-2', 'follower-1', 'follower-1', 'follower-1']);
});

test('nobody with it in time is POSITION_NOT_REACHED naming what each node said', async () => {
  const { tryNode } = scripted({ 'follower-2': ['lacks'], 'follower-1': ['failed'] });
  const error = await readAtLeast([f2, f1], 42n, { waitMs: 50, checkMs: 1000 }, true, tryNode).catch((e: unknown) => e);
  expect(error).toMatchObject({ extensions: { code: 'POSITION_NOT_REACHED', position: '00000000000000000042' } });
  expect(String(error)).toMatch(/follower-2 has not applied it; follower-1 did not answer \(connection failed\); leave out node and role/);
});

test('the leader lacking it says so; nobody answering at all is NODE_UNAVAILABLE', async () => {
  const lacking = scripted({ leader: ['lacks'] });
  await expect(readAtLeast([leader], 42n, { waitMs: 20, checkMs: 1000 }, true, lacking.tryNode)).rejects.toThrow(/the leader lacks it too/);
  const silent = scripted({ 'follower-1': ['silent'] });
  const error = await readAtLeast([f1], 42n, { waitMs: 20, checkMs: 1000 }, true, silent.tryNode).catch((e: unknown) => e);
  expect(error).toMatchObject({ extensions: { code: 'NODE_UNAVAILABLE', node: 'follower-1' } });
  expect(silent.asked).toEqual(['follower-1']);
});
