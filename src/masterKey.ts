// The master key seals secrets at rest. From OPSFLOW_MASTER_KEY, or generated once
// into the data dir (single-machine default). Scale-out processes must share one key.
import fs from 'node:fs';
import path from 'node:path';
import { generateMasterKey, parseMasterKey, SecretBox } from './security/secretBox';

export function loadSecretBox(masterKey: string | undefined, dataDir: string): SecretBox {
  if (masterKey) return new SecretBox(parseMasterKey(masterKey));
  const file = path.join(dataDir, 'master.key');
  if (!fs.existsSync(file)) {
    fs.mkdirSync(dataDir, { recursive: true });
    fs.writeFileSync(file, generateMasterKey() + '\n', { mode: 0o600, flag: 'wx' });
  }
  return new SecretBox(parseMasterKey(fs.readFileSync(file, 'utf8').trim()));
}
