// The API's HTTP server: the Express app and CODO's log WebSocket on one port. main.ts and the
// tests' stack both start the API through here, so the two never differ.
import http from 'node:http';
import { AuditSealer } from '../audit/audit';
import { WorkflowStarter } from '../tasks/workflowStart';
import { createApp } from './app';
import { attachLogSocket } from './codo/logSocket';
import type { ApiDeps } from './deps';

export interface ApiServer {
  server: http.Server;
  /** Ends log sockets, stops accepting, drains requests (open connections are cut after 5 s), seals the audit rows left, finishes the workflow starts under way. */
  close(): Promise<void>;
}

export function createApiServer(apiDeps: ApiDeps): ApiServer {
  // Accepted tasks' workflows are started after the reply, from the outbox (docs/architecture.md, accept path).
  const starter = apiDeps.starter ?? new WorkflowStarter(apiDeps);
  const deps: ApiDeps = { ...apiDeps, starter };
  const server = http.createServer(createApp(deps));
  const logSocket = attachLogSocket(server, deps);
  // Audited requests append unchained rows; this chains them (docs/architecture.md, audit trail).
  const sealer = new AuditSealer(deps.db, deps.box, deps.log);
  return {
    server,
    async close() {
      logSocket.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 5000).unref();
      });
      await Promise.all([sealer.stop(), starter.stop()]);
    },
  };
}
