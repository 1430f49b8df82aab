// The run's Temporal dev server: a client and a unique task queue per test file.
import crypto from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { inject } from 'vitest';

export interface TestTemporal {
  client: Client;
  connection: Connection;
  nativeConnection: NativeConnection;
  taskQueue: string;
  workflowBundlePath: string;
  close(): Promise<void>;
}

let runtimeInstalled = false;

export async function connectTestTemporal(): Promise<TestTemporal> {
  // Keep the SDK's own INFO chatter (worker state changes) out of the test output.
  if (!runtimeInstalled) {
    runtimeInstalled = true;
    Runtime.install({ logger: new DefaultLogger('WARN') });
  }
  const address = inject('temporalAddress');
  const connection = await Connection.connect({ address });
  const nativeConnection = await NativeConnection.connect({ address });
  return {
    client: new Client({ connection, namespace: 'default' }),
    connection,
    nativeConnection,
    taskQueue: `test-${crypto.randomBytes(6).toString('hex')}`,
    workflowBundlePath: inject('workflowBundlePath'),
    async close() {
      await connection.close();
      await nativeConnection.close();
    },
  };
}
