import { TestCluster } from '../../harness/test-cluster';

/** The public test helper, used as a user testing their own entity would (README, "Add a replicated table"). */
let cluster: TestCluster;

beforeAll(async () => {
  cluster = await TestCluster.start({ followers: 1 });
});

afterAll(async () => {
  await cluster?.stop();
});

test('TestCluster: a write through the server is on every node; identical() names a node that differs', async () => {
  const made = await cluster.gql('mutation { createDepartment(input: { name: "Helpers" }) { department { id } } }');
  expect(made.errors).toBeUndefined();
  const { id } = made.data!.createDepartment.department;
  await expect(cluster.identical('department')).resolves.toEqual([{ id, name: 'Helpers' }]);
  await cluster.nodes.query('follower-1', "UPDATE department SET name = 'Changed behind its back'");
  await expect(cluster.identical('department')).rejects.toThrow(/^follower-1 holds other rows of department than leader/);
});
