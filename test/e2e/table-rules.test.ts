import 'reflect-metadata';
import { LocalNodes } from '../../harness/nodes';
import { startServer } from '../support/server';

/** A replicated table that changes rows no statement returns (a cascade, a trigger) keeps the server from starting, named. */
let nodes: LocalNodes;

beforeAll(async () => {
  nodes = await LocalNodes.start(1);
  await (await startServer(nodes)).stop(); // the migrations have run
});

afterAll(async () => {
  await nodes?.stop();
});

test('a cascading foreign key on a replicated table stops startup, naming it and what to use instead', async () => {
  await nodes.query(
    'follower-1',
    'ALTER TABLE emp DROP CONSTRAINT emp_department_id_fkey, ADD CONSTRAINT emp_department_id_fkey FOREIGN KEY (department_id) REFERENCES department (id) ON DELETE CASCADE',
  );
  try {
    await expect(startServer(nodes)).rejects.toThrow(
      'node "follower-1": its replicated tables change rows that no statement returns, which followers would never see: ' +
        'foreign key emp_department_id_fkey on emp (ON DELETE CASCADE, ON UPDATE NO ACTION). Use ON DELETE/ON UPDATE NO ACTION or RESTRICT',
    );
  } finally {
    await nodes.query(
      'follower-1',
      'ALTER TABLE emp DROP CONSTRAINT emp_department_id_fkey, ADD CONSTRAINT emp_department_id_fkey FOREIGN KEY (department_id) REFERENCES department (id)',
    );
  }
});

test('a trigger on a replicated table stops startup, naming it; without it the server starts', async () => {
  await nodes.query(
    'leader',
    `CREATE FUNCTION audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
     CREATE TRIGGER audit BEFORE UPDATE ON department FOR EACH ROW EXECUTE FUNCTION audit()`,
  );
  await expect(startServer(nodes)).rejects.toThrow(/^node "leader": .*: trigger audit on department\. /);
  await nodes.query('leader', 'DROP TRIGGER audit ON department');
  await (await startServer(nodes)).stop();
});

test('a rule on a replicated table stops startup, naming it', async () => {
  await nodes.query('leader', 'CREATE RULE bump AS ON INSERT TO department DO ALSO UPDATE emp SET salary = salary + 1 WHERE id = 1');
  try {
    await expect(startServer(nodes)).rejects.toThrow(/^node "leader": .*: rule bump on department\. /);
  } finally {
    await nodes.query('leader', 'DROP RULE bump ON department');
  }
});
