import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { printSchema } from 'graphql';
import { buildAppSchema } from '../src/server/schema';

/** `npm run schema`: writes schema.graphql from the decorated classes (a test checks they agree). */
async function main(): Promise<void> {
  const file = path.resolve(__dirname, '..', '..', 'schema.graphql');
  writeFileSync(file, `${printSchema(await buildAppSchema())}\n`);
  process.stdout.write(`wrote ${file}\n`);
}

void main();
