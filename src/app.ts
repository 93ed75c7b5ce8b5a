import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { buildDataSource } from '../ormconfig';
import type { Settings } from './config/settings';
import { EmbeddedCluster } from './embedded/embedded-cluster';
import type { Logger } from './logger';
import { MetricsServer } from './metrics/metrics-server';
import { GidSource } from './replication/write/gid';
import { ReplicationService } from './replication/replication-service';
import type { ClusterEvents } from './replication/events/cluster-events';
import { openCluster, startReplication, type ReplicationLayer } from './replication/replication';
import { announceAdminAccess } from './server/admin-access-log';
import { adminTokenDigest } from './server/admin-guard';
import type { AppContext } from './server/context';
import { createFormatError } from './server/format-error';
import { createHttpServer, listen, PROBE_PATHS } from './server/http-server';
import { queryLimits } from './server/query-limits';
import { replicationExtensionPlugin } from './server/replication-extension.plugin';
import { buildAppSchema } from './server/schema';
import { SubscriptionServer } from './server/subscription-server';
import { subscriptionOverHttpPlugin } from './server/subscription-over-http.plugin';
import { StopOnce } from './lifecycle/stop-once';
import { seedTutorialRows } from './employee/employee.seed';

/** A running syncrep: the nodes, the replication layer and the GraphQL server, stopped together. */
export class Syncrep {
  private readonly life = new StopOnce();

  private constructor(
    /** Where GraphQL listens: a Syncrep exists only once it does. */
    readonly url: string,
    private readonly server: ApolloServer<AppContext>,
    private readonly subscriptions: SubscriptionServer,
    /** What happens to the nodes (the `clusterEvents` subscription); for tests too. */
    readonly events: ClusterEvents,
    /** The replication layer: its service is what resolvers use (`ctx.replication`). */
    readonly layer: ReplicationLayer,
    private readonly embedded: EmbeddedCluster | undefined,
    private readonly log: Logger,
    /** The Prometheus endpoint, when METRICS_PORT is set. */
    readonly metrics: MetricsServer | undefined,
  ) {}

  /** Starts everything `settings` describes; a node that cannot be used stops startup with a StartupError. */
  static async start(settings: Settings, log: Logger): Promise<Syncrep> {
    const embedded = settings.cluster.kind === 'embedded' ? new EmbeddedCluster(settings.cluster, log) : undefined;
    let layer: ReplicationLayer | undefined;
    let metrics: MetricsServer | undefined;
    let server: ApolloServer<AppContext> | undefined;
    let subscriptions: SubscriptionServer | undefined;
    try {
      const nodes = embedded ? await embedded.start() : settings.cluster.kind === 'external' ? settings.cluster.nodes : [];
      for (const node of embedded?.nodes ?? []) log.info({ node: node.options.name, port: node.options.port }, 'embedded node listening');
      const gids = new GidSource();
      const tuning = { poolSize: settings.poolSize, timeoutMs: settings.dbTimeoutMs, applicationName: gids.applicationName };
      const cluster = await openCluster(
        nodes.map((node) => ({ node, dataSource: buildDataSource(node, tuning) })),
        log,
      );
      layer = await startReplication(cluster, gids, settings, log);
      if (settings.seedExampleRows) await seedTutorialRows(layer.service, log);
      if (settings.metricsPort !== undefined) {
        metrics = await MetricsServer.start(layer.metrics.registry, settings.metricsPort, settings.host, log);
        log.info({ url: metrics.url }, 'metrics endpoint listening');
      }
      const service = layer.service;
      const clusterEvents = layer.events;
      const tokenDigest = adminTokenDigest(settings.admin);
      const context = (authorization: string | undefined): AppContext => ({
        replication: service,
        events: clusterEvents,
        servedBy: new Set<string>(),
        authorization,
        adminTokenDigest: tokenDigest,
      });
      const limits = queryLimits(settings.production);
      const schema = await buildAppSchema();
      const formatError = createFormatError(log, settings.production);
      const http = createHttpServer();
      server = new ApolloServer<AppContext>({
        schema,
        validationRules: limits.validationRules,
        introspection: settings.http.introspection,
        // Apollo's own messages go through the same JSON log as everything else.
        logger: log,
        // main.ts owns the signals: it stops the server first, then the replication layer and the nodes.
        stopOnTerminationSignals: false,
        includeStacktraceInErrorResponses: !settings.production,
        formatError,
        plugins: [
          ...limits.plugins,
          replicationExtensionPlugin(),
          subscriptionOverHttpPlugin(),
          // Sandbox needs introspection; without it there is no page to show.
          settings.http.introspection
            ? ApolloServerPluginLandingPageLocalDefault({ embed: true })
            : ApolloServerPluginLandingPageDisabled(),
          // Apollo installs cache control unless told not to; it wraps every field resolver (see HttpSettings).
          ...(settings.http.cacheControl ? [] : [ApolloServerPluginCacheControlDisabled()]),
          // Stopping waits for requests in flight, then closes idle connections.
          ApolloServerPluginDrainHttpServer({ httpServer: http.httpServer }),
        ],
      });
      await server.start();
      subscriptions = SubscriptionServer.attach(http.httpServer, {
        schema,
        validationRules: limits.validationRules,
        production: settings.production,
        context,
        formatError,
        maxPayloadBytes: settings.http.bodyLimitBytes,
        corsOrigins: settings.http.corsOrigins,
        servesPath: (path) => !PROBE_PATHS.includes(path),
        log,
      });
      const url = await listen(http, server, {
        port: settings.port,
        host: settings.host,
        http: settings.http,
        log,
        readiness: () => service.readiness(),
        context: (req) => context(req.headers.authorization),
      });
      const app = new Syncrep(url, server, subscriptions, clusterEvents, layer, embedded, log, metrics);
      log.info(
        {
          url,
          leader: cluster.leader.name,
          followers: cluster.followers.map((n) => n.name),
          epoch: cluster.epoch.toString(),
          sync: settings.sync,
        },
        'syncrep ready',
      );
      announceAdminAccess(settings.admin, log);
      return app;
    } catch (error) {
      await subscriptions?.stop();
      await server?.stop().catch(() => undefined);
      await metrics?.stop();
      await layer?.stop();
      await embedded?.stop();
      throw error;
    }
  }

  get service(): ReplicationService {
    return this.layer.service;
  }

  /**
   * Closes every subscription's socket, stops taking requests, lets writes in flight finish, then
   * closes the pools and the embedded nodes.
   */
  stop(): Promise<void> {
    return this.life.stop(async () => {
      // No embedded node is restarted from here on, even one that stops before its turn.
      await this.embedded?.supervisor?.stop();
      // Before Apollo's drain, which would cut the upgraded sockets off without a close frame.
      await this.subscriptions.stop();
      this.events.close();
      await this.server.stop();
      await this.metrics?.stop();
      await this.layer.stop();
      await this.embedded?.stop();
      this.log.info('syncrep stopped');
    });
  }
}
