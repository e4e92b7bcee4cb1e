import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../../src/db/embedded';

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });

describe('embedded PostgreSQL started by root', function () {
  this.timeout(30_000);

  it('says what to do when the postgres user cannot reach the data folder, before initdb fails', async function () {
    // Only root hands the server to the `postgres` user; CI runs as root.
    if (os.userInfo().uid !== 0) this.skip();
    const privateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aimake-private-')); // mode 0700, owned by root
    try {
      await assert.rejects(
        startEmbeddedPostgres({ dataDir: path.join(privateDir, 'data'), port: await freePort() }),
        (err: Error) => /cannot reach .*aimake-private-/.test(err.message) && /DATABASE_URL/.test(err.message),
      );
      assert.equal(fs.existsSync(path.join(privateDir, 'data', 'postgres')), false, 'initdb was not attempted');
    } finally {
      fs.rmSync(privateDir, { recursive: true, force: true });
    }
  });
});
