// When the dev server counts as started: its port must answer as a Temporal frontend. An open
// port held by another gRPC server (it happened in CI: another dev server's internal service had
// the port) must not count, or opsflow goes on to fail with "unknown service WorkflowService".
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { answersAsTemporalFrontend } from '../../src/temporal/devServer';
import { freePort } from '../support/ports';

describe('answersAsTemporalFrontend', () => {
  const other = new grpc.Server(); // serves no service: every call is UNIMPLEMENTED
  let otherPort = 0;

  beforeAll(async () => {
    otherPort = await new Promise<number>((resolve, reject) => {
      other.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port)));
    });
  });
  afterAll(() => {
    other.forceShutdown();
  });

  it('is true for the Temporal dev server', async () => {
    expect(await answersAsTemporalFrontend(inject('temporalAddress'))).toBe(true);
  });

  it('is false for another gRPC server on the port', async () => {
    expect(await answersAsTemporalFrontend(`127.0.0.1:${otherPort}`)).toBe(false);
  });

  it('is false for a port nobody listens on', async () => {
    expect(await answersAsTemporalFrontend(`127.0.0.1:${await freePort()}`)).toBe(false);
  });
});
