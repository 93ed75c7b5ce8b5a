import { rebuildReason } from '../../src/replication/recovery/rebuild-reason';

describe('rebuildReason: whether a rejoining follower is rebuilt first, and why', () => {
  it('catches up only, when nothing on the node calls for a rebuild', () => {
    expect(rebuildReason({ requested: false })).toBeUndefined();
  });

  it('names the log trimmed past it before anything else', () => {
    const reason = rebuildReason({ requested: true, behindLog: { watermark: '10', trimmed: '20' }, stale: 'old epoch', interrupted: 'x' });
    expect(reason).toBe('applied up to 10, but the log starts after 20');
  });

  it('names an older epoch before an unfinished rebuild and a request', () => {
    expect(rebuildReason({ requested: true, stale: 'it was at epoch 0, the cluster is at 1', interrupted: 'x' })).toBe(
      'it was at epoch 0, the cluster is at 1',
    );
  });

  it('rebuilds a node whose rebuild did not finish, even with an empty reason on its mark', () => {
    expect(rebuildReason({ requested: false, interrupted: 'the log no longer holds what it lacks' })).toBe(
      'marked for a rebuild (the log no longer holds what it lacks)',
    );
    expect(rebuildReason({ requested: false, interrupted: '' })).toBe('marked for a rebuild ()');
  });

  it("rebuilds on an operator's request alone", () => {
    expect(rebuildReason({ requested: true })).toBe('rebuild requested (resyncNode)');
  });
});
