import assert from 'node:assert/strict';
import { call, registerUser, startTestApi, type Reply, type TestApi } from '../helpers/api';

// Every test signs in from IPs of its own (X-Forwarded-For, trusted here), so the per-IP counts of
// one test never reach another. The run's database is its own, so the IPs need only differ within it.
let ipCounter = 0;
const freshIp = () => `198.51.${100 + Math.floor(ipCounter / 250)}.${ipCounter++ % 250}`;

function login(api: TestApi, ip: string, email: string, password: string): Promise<Reply> {
  return call(api.url, 'POST', '/v1/auth/login', { body: { email, password }, headers: { 'x-forwarded-for': ip } });
}

function assertRefused(res: Reply, windowSec: number) {
  assert.equal(res.status, 429, JSON.stringify(res.body));
  assert.equal(res.body.error.code, 'RATE_LIMITED');
  const retryAfter = Number(res.headers.get('retry-after'));
  assert.ok(retryAfter > 0 && retryAfter <= windowSec, `Retry-After ${res.headers.get('retry-after')}`);
}

describe('login throttling', function () {
  this.timeout(60_000);

  describe('per email (5 attempts per window)', () => {
    let api: TestApi;
    before(async () => {
      api = await startTestApi({ TRUST_PROXY: 'true', LOGIN_MAX_FAILURES_PER_EMAIL: '5', LOGIN_MAX_FAILURES_PER_IP: '1000', LOGIN_FAILURE_WINDOW_SEC: '900' });
    });

    it('lets at most 5 of 30 parallel wrong passwords reach the password check; the rest wait with 429', async () => {
      const { email, password } = await registerUser(api, 'race');
      const ip = freshIp();
      const replies = await Promise.all(Array.from({ length: 30 }, () => login(api, ip, email, 'wrong-password')));
      const statuses = replies.map((r) => r.status);
      // Only an attempt that reached argon2 can answer 401: the 401s count the guesses checked.
      assert.equal(statuses.filter((s) => s === 401).length, 5, `statuses: ${statuses.join(',')}`);
      for (const r of replies.filter((x) => x.status !== 401)) assertRefused(r, 900);
      // The right password waits too, until the window passes.
      assertRefused(await login(api, ip, email, password), 900);
    });

    it('signs in with the right password after 4 wrong ones, which starts the count afresh', async () => {
      const { email, password } = await registerUser(api, 'forgetful');
      const ip = freshIp();
      for (let i = 0; i < 4; i++) assert.equal((await login(api, ip, email, 'wrong-password')).status, 401);
      const ok = await login(api, ip, email, password);
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(ok.body.user.email, email);
      for (let i = 0; i < 5; i++) assert.equal((await login(api, ip, email, 'wrong-password')).status, 401, `wrong password ${i + 1} after the success`);
      assertRefused(await login(api, ip, email, password), 900);
    });

    it('refuses the 6th attempt of a window, even with the right password', async () => {
      const { email, password } = await registerUser(api, 'sixth');
      const ip = freshIp();
      for (let i = 0; i < 5; i++) assert.equal((await login(api, ip, email, 'wrong-password')).status, 401);
      assertRefused(await login(api, ip, email, password), 900);
      // Another account is unaffected.
      const other = await registerUser(api, 'bystander');
      assert.equal((await login(api, ip, other.email, other.password)).status, 200);
    });
  });

  describe('when the window passes', () => {
    it('lets the user sign in again', async () => {
      const api = await startTestApi({
        TRUST_PROXY: 'true',
        LOGIN_MAX_FAILURES_PER_EMAIL: '2',
        LOGIN_MAX_FAILURES_PER_IP: '1000',
        LOGIN_FAILURE_WINDOW_SEC: '2',
      });
      const { email, password } = await registerUser(api, 'patient');
      const ip = freshIp();
      for (let i = 0; i < 2; i++) assert.equal((await login(api, ip, email, 'wrong-password')).status, 401);
      const refused = await login(api, ip, email, password);
      assertRefused(refused, 2);
      await new Promise((r) => setTimeout(r, Number(refused.headers.get('retry-after')) * 1000 + 200));
      assert.equal((await login(api, ip, email, password)).status, 200, 'signs in once Retry-After has passed');
    });
  });

  describe('per IP (5 failed attempts per window)', () => {
    let api: TestApi;
    before(async () => {
      api = await startTestApi({ TRUST_PROXY: 'true', LOGIN_MAX_FAILURES_PER_EMAIL: '3', LOGIN_MAX_FAILURES_PER_IP: '5', LOGIN_FAILURE_WINDOW_SEC: '900' });
    });

    it('lets at most 5 of 30 parallel guesses from one IP, over many emails, reach the password check', async () => {
      const ip = freshIp();
      const users = await Promise.all(Array.from({ length: 30 }, (_, i) => registerUser(api, `spray${i}`)));
      const replies = await Promise.all(users.map((u) => login(api, ip, u.email, 'wrong-password')));
      const statuses = replies.map((r) => r.status);
      assert.equal(statuses.filter((s) => s === 401).length, 5, `statuses: ${statuses.join(',')}`);
      for (const r of replies.filter((x) => x.status !== 401)) assertRefused(r, 900);
      // The same users sign in from elsewhere: the IP was refused, not their accounts.
      const elsewhere = freshIp();
      for (const u of users.slice(10, 13)) assert.equal((await login(api, elsewhere, u.email, u.password)).status, 200);
    });

    it('counts failures only: many sign-ins from one IP (an office) do not use up its limit', async () => {
      const ip = freshIp();
      const users = await Promise.all(Array.from({ length: 8 }, (_, i) => registerUser(api, `office${i}`)));
      for (const u of users) assert.equal((await login(api, ip, u.email, u.password)).status, 200, 'each colleague signs in');
      for (let i = 0; i < 5; i++) assert.equal((await login(api, ip, users[i]!.email, 'wrong-password')).status, 401);
      assertRefused(await login(api, ip, users[7]!.email, users[7]!.password), 900);
    });

    it("does not count an email's refused attempts against its IP", async () => {
      const ip = freshIp();
      const { email } = await registerUser(api, 'locked');
      const statuses: number[] = [];
      for (let i = 0; i < 10; i++) statuses.push((await login(api, ip, email, 'wrong-password')).status);
      assert.deepEqual(statuses, [401, 401, 401, 429, 429, 429, 429, 429, 429, 429]);
      // 3 failures so far from this IP: 2 more guesses are still allowed, then the IP waits.
      const other = await registerUser(api, 'neighbour');
      for (let i = 0; i < 2; i++) assert.equal((await login(api, ip, other.email, 'wrong-password')).status, 401);
      assertRefused(await login(api, ip, other.email, other.password), 900);
    });
  });
});
