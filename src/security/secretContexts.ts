// Contexts bind each sealed secret to its row, so a ciphertext copied to another row will not
// open. Sealed by the API (exec users), opened only inside the SSH activity: one definition.
export const execUserSecretContext = {
  privateKey: (alias: string): string => `exec_users.private_key:${alias}`,
  password: (alias: string): string => `exec_users.password:${alias}`,
};
