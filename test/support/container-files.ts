import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One Dockerfile instruction, its continuation lines joined. */
export interface Instruction {
  keyword: string;
  args: string;
}

/** One build stage: its base image, its `AS` name (or its index), and its instructions after FROM. */
export interface Stage {
  image: string;
  name: string;
  instructions: Instruction[];
}

/** Splits a Dockerfile into stages. Enough of the syntax for ours: comments, `\` continuations, `FROM x AS y`. */
export function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    pending += (pending ? ' ' : '') + line.replace(/\\$/, '').trim();
    if (!line.endsWith('\\')) {
      logical.push(pending);
      pending = '';
    }
  }
  const stages: Stage[] = [];
  for (const line of logical) {
    const [keyword, ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (keyword.toUpperCase() === 'FROM') {
      const words = rest.filter((word) => !word.startsWith('--'));
      const as = words.findIndex((word) => word.toUpperCase() === 'AS');
      stages.push({ image: words[0], name: as > 0 ? words[as + 1] : String(stages.length), instructions: [] });
    } else {
      if (stages.length === 0) throw new Error(`Dockerfile: ${keyword} before FROM`);
      stages[stages.length - 1].instructions.push({ keyword: keyword.toUpperCase(), args });
    }
  }
  return stages;
}

/** The arguments of every `keyword` instruction in a stage. */
export function argsOf(stage: Stage, keyword: string): string[] {
  return stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
}

/** A COPY: the stage it copies from (undefined: the build context), its sources and destination. */
export interface Copy {
  from: string | undefined;
  sources: string[];
  dest: string;
}

export function copiesOf(stage: Stage): Copy[] {
  return argsOf(stage, 'COPY').map((args) => {
    const words = args.split(/\s+/);
    const from = words.find((word) => word.startsWith('--from='))?.slice('--from='.length);
    const paths = words.filter((word) => !word.startsWith('--'));
    return { from, sources: paths.slice(0, -1), dest: paths[paths.length - 1] };
  });
}

/** ENV of a stage, in both `ENV A=1 B=2` and `ENV A 1` forms (values without spaces or quotes). */
export function envOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const args of argsOf(stage, 'ENV')) {
    if (!args.includes('=')) {
      const [key, ...value] = args.split(/\s+/);
      env[key] = value.join(' ');
      continue;
    }
    for (const pair of args.split(/\s+/)) {
      const eq = pair.indexOf('=');
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return env;
}

/** Whether a .dockerignore (its lines) leaves `file` out of the build context: `*` patterns, `!` exceptions. */
export function dockerIgnores(lines: string[], file: string): boolean {
  let ignored = false;
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const negated = line.startsWith('!');
    const pattern = (negated ? line.slice(1) : line).replace(/^\/+|\/+$/g, '');
    const glob = pattern
      .split('**')
      .map((part) =>
        part
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*/g, '[^/]*')
          .replace(/\?/g, '[^/]'),
      )
      .join('.*');
    // A pattern that names a folder leaves out everything inside it too.
    if (new RegExp(`^${glob}(/.*)?$`).test(file)) ignored = !negated;
  }
  return ignored;
}

/**
 * Runs a healthcheck command (`["node", "-e", ...]`) against a server on a free port that answers
 * `status` on `path` and 404 elsewhere, with PORT set to it as in the container; returns its exit code.
 */
export async function runHealthcheck(command: string[], path: string, status: number): Promise<number> {
  const server = createServer((req, res) => {
    res.writeHead(req.url === path ? status : 404, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const port = (server.address() as AddressInfo).port;
    if (command[0] !== 'node') throw new Error(`healthcheck runs ${command[0]}, not node (slim images have no curl)`);
    return await new Promise<number>((resolve) => {
      const child = execFile(process.execPath, command.slice(1), { env: { PATH: process.env.PATH, PORT: String(port) } });
      child.once('exit', (code) => resolve(code ?? -1));
    });
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}
