import { Logger } from '@nestjs/common';
import { ConfigError } from '@smsgw/common';
import { loadSimulatorConfig } from './config';
import { startSimulator } from './simulator';

async function main(): Promise<void> {
  const config = loadSimulatorConfig();
  const sim = await startSimulator(config);
  new Logger('smsc-simulator').log(`SMPP on port ${sim.smppPort}, control API on port ${sim.httpPort}`);
}

main().catch((e) => {
  // One line a person can act on, not a stack trace.
  const msg = e instanceof ConfigError ? e.message : `smsc-simulator failed to start: ${(e as Error).message}`;
  process.stderr.write(`${msg}\n`);
  process.exit(1);
});
