import 'reflect-metadata';
import { Client } from 'pg';
import { LocalNodes } from '../../harness/nodes';
import { ReadStatements } from '../../src/replication/read/read-statements';

let nodes: LocalNodes;
beforeAll(async () => {
  nodes = await LocalNodes.start(0);
});
afterAll(async () => nodes?.stop());

test('long table names: two read statements share a server-side name', async () => {
  const table = 'employee_assignment_history_by_region_xx'.padEnd(50, 'x');
  const client = new Client({ connectionString: nodes.node('leader').url });
  await client.connect();
  // the migrations ran? create what reachedSql reads, and the table
  await client.query(`CREATE TABLE IF NOT EXISTS syncrep_watermark (upto bigint); CREATE TABLE IF NOT EXISTS syncrep_trim (upto bigint);
    CREATE TABLE IF NOT EXISTS syncrep_applied (position bigint); CREATE TABLE IF NOT EXISTS syncrep_log (position bigint);
    CREATE TABLE "${table}" (id int primary key, v text); INSERT INTO "${table}" VALUES (1, 'a')`);
  const id = { databaseName: 'id', propertyName: 'id' };
  const v = { databaseName: 'v', propertyName: 'v' };
  const metadata = { target: class X {}, name: 'X', tableName: table, tablePath: table, schema: undefined, columns: [id, v], primaryColumns: [id] } as any;
  const s = new ReadStatements();
  const keys = s.byKeys(metadata, [1]);
  const page = s.page(metadata, null, 5);
  const after = s.page(metadata, 0, 5);
  const at = s.atPosition(metadata, keys, 0n);
  for (const st of [keys, page, after, at]) {
    try {
      const r = await client.query(st);
      console.log(st.name.length, st.name, 'ok', JSON.stringify(r.rows));
    } catch (e: any) {
      console.log(st.name.length, st.name, 'FAILED', e.code, e.message);
    }
  }
  await client.end();
});
