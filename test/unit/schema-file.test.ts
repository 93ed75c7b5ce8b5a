import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { printSchema } from 'graphql';
import { buildAppSchema } from '../../src/server/schema';

test('schema.graphql is the schema the code builds (run `npm run schema` after changing the API)', async () => {
  const file = readFileSync(path.join(__dirname, '..', '..', 'schema.graphql'), 'utf8');
  expect(file).toBe(`${printSchema(await buildAppSchema())}\n`);
});
