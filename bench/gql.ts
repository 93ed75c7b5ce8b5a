import { request as httpRequest } from 'node:http';

/** GraphQL documents the benchmark sends, and a small client for the one-off calls. */
export const UPDATE = 'mutation ($id: Int!, $salary: Int) { updateEmployee(id: $id, input: { salary: $salary }) { position } }';
export const READ_LEADER = 'query ($id: Int!) { employee(id: $id, readFrom: { role: LEADER }) { id salary } }';
export const READ_DEFAULT = 'query ($id: Int!) { employee(id: $id) { id salary } }';
export const READ_PAGE = 'query { employees(first: 100) { id salary } }';
export const READ_AT = 'query ($id: Int!, $at: String!) { employee(id: $id, readFrom: { atLeast: $at }) { id salary } }';
export const READ_NESTED = 'query ($id: Int!) { department(id: $id) { id name employees { id salary } } }';
export const CREATE_MANY = 'mutation ($inputs: [CreateEmployeeInput!]!) { createEmployees(inputs: $inputs) { position } }';
export const WITH_EMPLOYEES =
  'mutation ($input: CreateDepartmentWithEmployeesInput!) { createDepartmentWithEmployees(input: $input) { position department { id } } }';
export const NODES = 'query { nodes { name state appliedPosition lagPositions } }';

export interface NodeStatus {
  name: string;
  state: string;
  appliedPosition: string | null;
  lagPositions: number | null;
}

/**
 * POSTs one operation; throws on a transport failure or a GraphQL error. Each call uses its own
 * connection, closed afterwards: an idle keep-alive socket would hold the server's graceful
 * shutdown for its full drain period.
 */
export function gql<T>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<T> {
  const payload = JSON.stringify({ query, variables });
  return new Promise<T>((resolve, reject) => {
    const request = httpRequest(url, {
      method: 'POST',
      agent: false,
      headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), connection: 'close' },
    });
    request.once('error', reject);
    request.once('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.once('error', reject);
      response.once('end', () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data?: T; errors?: { message: string }[] };
          if (body.errors?.length || !body.data) {
            const why = body.errors?.map((e) => e.message).join('; ') ?? 'no data';
            throw new Error(`GraphQL error (HTTP ${response.statusCode}): ${why}`);
          }
          resolve(body.data);
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
    });
    request.end(payload);
  });
}

/** Creates employees `firstId .. firstId+count-1` in one createEmployees; returns the milliseconds it took. */
export async function createRows(url: string, firstId: number, count: number): Promise<number> {
  const inputs = Array.from({ length: count }, (_, i) => ({ id: firstId + i, name: `Bench ${firstId + i}`, salary: 1000 + i }));
  const started = performance.now();
  await gql(url, CREATE_MANY, { inputs });
  return performance.now() - started;
}

export async function nodeStates(url: string): Promise<NodeStatus[]> {
  return (await gql<{ nodes: NodeStatus[] }>(url, NODES)).nodes;
}

/** Polls `nodes` until `node` reports `state`; returns when it does, throws after `timeoutMs`. */
export async function waitForState(url: string, node: string, state: string, timeoutMs: number, pollMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await nodeStates(url)).find((n) => n.name === node);
    if (found?.state === state) return;
    if (Date.now() > deadline) throw new Error(`${node} still ${found?.state ?? 'missing'} after ${timeoutMs} ms (waiting for ${state})`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
