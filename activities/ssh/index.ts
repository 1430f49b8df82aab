// Low-level SSH client for the step runner: connect (verified, classified errors) and run commands.
export { openSshConnection, SshConnection, type OpenSshConnectionOptions, type HostKeyInfo } from './connection';
export { runRemoteCommand, type RunRemoteCommandOptions, type RemoteCommandResult, type OnOutput, type OutputStream } from './exec';
export { SshError, SshHostKeyError, SshAuthError, SshTransportError, SshCommandLostError } from './errors';
export { sha256Fingerprint } from './host-key';
export { shellQuote } from './remote-script';
