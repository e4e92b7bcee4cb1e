import { z } from 'zod';
import type { Accounts } from '../../services/accounts';
import { userView } from '../../services/accounts';
import { route } from '../route';
import { NOT_BLANK } from './common';
import { clientIp } from '../request';

// Zod's email rule, with host labels that neither begin nor end with a hyphen. Published as a pattern
// rather than `format: email`, which every tool reads its own way: the document says what is checked.
const EMAIL = /^(?!\.)(?!.*\.\.)([A-Za-z0-9_'+\-.]*)[A-Za-z0-9_+-]@([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}$/;
const Email = z.string().regex(EMAIL, 'Invalid email address').max(255);
// Length only, no composition rules (NIST 800-63B); 128 keeps hashing cost bounded.
const Password = z.string().min(8).max(128);

export const UserSchema = z.object({
  id: z.uuid(),
  email: z.string(),
  name: z.string().nullable(),
  avatarUrl: z.string().nullable(),
  plan: z.enum(['free', 'pro', 'team']),
  isVerified: z.boolean(),
  createdAt: z.string(),
});
export const SessionSchema = z.object({ user: UserSchema, token: z.string() });
// Shared with the studio's cookie sign-in (routes/studio.ts), which must validate exactly the same.
export const RegisterBody = z.strictObject({
  email: Email,
  password: Password,
  name: z.string().regex(NOT_BLANK, 'must not be blank').trim().min(1).max(100).optional(),
});
// The password is not length-checked here: a wrong password gets the same 401 whatever it is.
export const LoginBody = z.strictObject({ email: z.string().max(255), password: z.string().max(1024) });

export function accountRoutes(accounts: Accounts) {
  return [
    route({
      method: 'post',
      path: '/v1/auth/register',
      operationId: 'register',
      tag: 'accounts',
      summary: 'Create an account with email and password',
      auth: 'none',
      body: RegisterBody,
      responses: { 201: { description: 'Registered and signed in', schema: SessionSchema } },
      handler: async (ctx, { body }) => {
        const { user, token } = await accounts.register(body, { ip: clientIp(ctx), userAgent: ctx.get('user-agent') });
        ctx.status = 201;
        ctx.body = { user: userView(user), token };
      },
    }),
    route({
      method: 'post',
      path: '/v1/auth/login',
      operationId: 'login',
      tag: 'accounts',
      summary: 'Sign in with email and password',
      auth: 'none',
      body: LoginBody,
      responses: { 200: { description: 'Signed in', schema: SessionSchema } },
      handler: async (ctx, { body }) => {
        const { user, token } = await accounts.login(body, { ip: clientIp(ctx), userAgent: ctx.get('user-agent') });
        ctx.body = { user: userView(user), token };
      },
    }),
    route({
      method: 'post',
      path: '/v1/auth/logout',
      operationId: 'logout',
      tag: 'accounts',
      summary: 'Revoke the session token used for this request',
      auth: 'required',
      responses: { 204: { description: 'Signed out' } },
      handler: async (ctx, { auth }) => {
        if (auth?.sessionId) await accounts.logout(auth.sessionId);
        ctx.status = 204;
      },
    }),
    route({
      method: 'get',
      path: '/v1/me',
      operationId: 'getMe',
      tag: 'accounts',
      summary: 'The signed-in user and their quota',
      auth: 'required',
      responses: {
        200: {
          description: 'The caller',
          schema: z.object({
            user: UserSchema,
            quota: z.object({ limit: z.number(), used: z.number(), remaining: z.number(), reserved: z.number(), resetAt: z.string().nullable() }),
          }),
        },
      },
      handler: async (ctx, { auth }) => {
        ctx.body = { user: userView(auth!.user), quota: await accounts.quota(auth!.user.id) };
      },
    }),
  ];
}
