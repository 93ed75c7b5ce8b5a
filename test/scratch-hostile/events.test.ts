import 'reflect-metadata';
import type { Syncrep } from '../../src/app';
import { Employee } from '../../src/employee/employee.entity';
import { employeeWrites } from '../../src/employee/employee.mutations';
import { LocalNodes } from '../../harness/nodes';
import { ADMIN_HEADERS, TEST_ADMIN_TOKEN, gql, startServer } from '../support/server';
import { waitFor } from '../support/wait';

let nodes: LocalNodes;
let app: Syncrep;
let other: Syncrep;

beforeAll(async () => {
  nodes = await LocalNodes.start(2);
  app = await startServer(nodes, { ADMIN_TOKEN: TEST_ADMIN_TOKEN, HEALTH_INTERVAL_MS: '200' });
  other = await startServer(nodes, { HEALTH_INTERVAL_MS: '3600000' });
  await app.service.write(employeeWrites.createMany([{ id: 1, name: 'A', salary: 1 }]));
});

afterAll(async () => {
  for (const a of [app, other]) await a?.stop();
  await nodes?.stop();
});

test('a read in flight across a promotion: events name a state the node is not in', async () => {
  const events: string[] = [];
  app.layer.events.subscribe((e) => events.push(`${e.kind} ${e.node} ${e.from}->${e.to} (${e.reason})`));
  const otherEvents: string[] = [];
  other.layer.events.subscribe((e) => otherEvents.push(`${e.kind} ${e.node} ${e.from}->${e.to}`));
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  // A plain read routed to follower-1 (the object the cluster holds now), its statement sent later.
  const inFlight = app.service
    .read({ node: 'follower-1' }, { servedBy: new Set() }, async (db) => {
      await gate;
      return db.byKey(Employee, 1);
    })
    .then((v) => `served ${v?.id}`, (e) => `failed ${e.extensions?.code ?? e.message}`);
  nodes.node('leader').signalAll('SIGKILL');
  await waitFor(async () => app.layer.cluster.leader.state.kind === 'DOWN', 'leader DOWN');
  const promoted = await gql(app.url, 'mutation { promote(node: "follower-1") { leader epoch } }', {}, ADMIN_HEADERS);
  expect(promoted.errors).toBeUndefined();
  events.length = 0;
  // follower-1 (now the leader) restarts briefly, as a node does; the in-flight read meets it gone.
  nodes.node('follower-1').signalAll('SIGKILL');
  release();
  console.log('read:', await inFlight);
  await new Promise((r) => setTimeout(r, 300));
  console.log('events after promotion:\n' + events.join('\n'));
  console.log('other events:\n' + otherEvents.join('\n'));
  console.log('nodes now:', app.service.nodes().map((n) => `${n.name}:${n.role}:${n.state.kind}`).join(' '));
});
