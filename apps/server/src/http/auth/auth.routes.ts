import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { IdentityService } from '../../services/identity/identity.service.js';
import type { PasswordResetService } from '../../services/identity/password-reset.service.js';
import type { RegistrationService } from '../../services/identity/registration.service.js';
import {
  clearSessionCookie,
  readCookie,
  SESSION_COOKIE,
  setSessionCookie,
} from '../plugins/cookies.js';
import { problemResponses } from '../plugins/problems.js';
import { requireUser } from '../plugins/request-lifecycle.js';

const sessionUser = z
  .object({
    id: z.string(),
    email: z.string(),
    name: z.string(),
    status: z.string(),
    roles: z.array(z.string()),
  })
  .meta({ id: 'SessionUser' });

const sessionDescription = sessionUser
  .extend({
    actingRoles: z.array(z.string()).meta({
      description:
        'The roles this session acts with: none until admitted; reviewer and admin only with a second factor',
    }),
    secondFactor: z.object({
      enabled: z.boolean(),
      required: z.boolean(),
      recoveryCodesLeft: z.number().int(),
      thisSession: z.boolean(),
    }),
    termsAccepted: z.boolean(),
  })
  .meta({ id: 'SessionDescription' });

/**
 * Signing in and out, the current session, registering, and the emailed single-use links that
 * confirm an address or set a password.
 */
export function authRoutes(
  identity: IdentityService,
  registration: RegistrationService,
  passwordReset: PasswordResetService,
): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/api/v1/auth/sign-in',
      {
        config: { permission: 'public', action: 'auth.sign_in' },
        schema: {
          operationId: 'signIn',
          summary: 'Sign in with email and password; sets the session cookie',
          tags: ['auth'],
          body: z.object({
            email: z.string().trim().min(3).max(320),
            password: z.string().min(1).max(1024),
            code: z
              .string()
              .trim()
              .max(20)
              .optional()
              .meta({ description: 'TOTP code or recovery code, when two-factor sign-in is on' }),
          }),
          response: {
            ...problemResponses,
            200: z.object({ user: sessionUser, expiresAt: z.string() }),
          },
        },
      },
      async (request, reply) => {
        const { secret, user, expiresAt } = await identity.signIn(
          request.body.email,
          request.body.password,
          {
            clientIp: request.ip,
            userAgent: request.headers['user-agent'] ?? null,
          },
          request.body.code,
        );
        setSessionCookie(request, reply, secret, expiresAt);
        return { user, expiresAt: expiresAt.toISOString() };
      },
    );

    app.post(
      '/api/v1/auth/sign-out',
      {
        config: { permission: 'public', action: 'auth.sign_out' },
        schema: {
          operationId: 'signOut',
          summary: 'End this session (harmless when not signed in)',
          tags: ['auth'],
          response: { ...problemResponses, 204: z.null() },
        },
      },
      async (request, reply) => {
        const secret = readCookie(request, SESSION_COOKIE);
        const { principal } = request.ctx;
        if (secret !== undefined && principal.kind === 'user') {
          await identity.signOut(principal.userId, secret);
        }
        clearSessionCookie(request, reply);
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/api/v1/auth/session',
      {
        config: { permission: 'public', action: 'auth.session' },
        schema: {
          operationId: 'getSession',
          summary: 'Who is signed in (user null when nobody)',
          tags: ['auth'],
          response: {
            ...problemResponses,
            200: z.object({ user: sessionDescription.nullable() }),
          },
        },
      },
      async (request) => ({
        user: await identity.describe(request.ctx.principal, readCookie(request, SESSION_COOKIE)),
      }),
    );

    app.post(
      '/api/v1/auth/set-password',
      {
        config: { permission: 'public', action: 'user.set_password' },
        schema: {
          operationId: 'setPasswordWithLink',
          summary:
            'Set a password with the secret of a single-use link; ends every session of the person (API tokens stay)',
          tags: ['auth'],
          body: z.object({
            token: z.string().min(1).max(200),
            password: z.string().min(1).max(1024),
          }),
          response: { ...problemResponses, 200: z.object({ email: z.string() }) },
        },
      },
      async (request) => {
        return identity.setPasswordWithLink(
          request.ctx.principal,
          request.body.token,
          request.body.password,
        );
      },
    );

    app.get(
      '/api/v1/auth/sessions',
      {
        config: { permission: 'account', action: 'auth.list_sessions' },
        schema: {
          operationId: 'listSessions',
          summary: 'Your signed-in sessions, the current one marked',
          tags: ['auth'],
          response: {
            ...problemResponses,
            200: z.object({
              sessions: z.array(
                z.object({
                  id: z.string(),
                  current: z.boolean(),
                  createdAt: z.string(),
                  lastSeenAt: z.string(),
                  expiresAt: z.string(),
                  clientIp: z.string().nullable(),
                  userAgent: z.string().nullable(),
                }),
              ),
            }),
          },
        },
      },
      async (request) => ({
        sessions: await identity.listSessions(
          requireUser(request),
          readCookie(request, SESSION_COOKIE),
        ),
      }),
    );

    app.delete(
      '/api/v1/auth/sessions/:id',
      {
        config: { permission: 'account', action: 'auth.revoke_session' },
        schema: {
          operationId: 'revokeSession',
          summary: 'End one of your sessions',
          tags: ['auth'],
          params: z.object({ id: z.string().regex(/^[0-9a-f]{64}$/u) }),
          response: { ...problemResponses, 204: z.null() },
        },
      },
      async (request, reply) => {
        await identity.revokeSession(requireUser(request), request.params.id);
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/api/v1/auth/sign-out-everywhere',
      {
        config: { permission: 'account', action: 'auth.sign_out_everywhere' },
        schema: {
          operationId: 'signOutEverywhere',
          summary: 'End every one of your sessions, this one included',
          tags: ['auth'],
          response: { ...problemResponses, 200: z.object({ ended: z.number().int() }) },
        },
      },
      async (request, reply) => {
        const ended = await identity.signOutEverywhere(requireUser(request));
        clearSessionCookie(request, reply);
        return { ended };
      },
    );

    app.post(
      '/api/v1/auth/register',
      {
        config: { permission: 'public', action: 'user.register' },
        schema: {
          operationId: 'register',
          summary: 'Apply for an account; a link to confirm the address is emailed',
          tags: ['auth'],
          body: z.object({
            name: z.string().trim().min(1).max(200),
            email: z.email().max(320),
            password: z.string().min(1).max(1024),
            institution: z.string().trim().min(2).max(200),
            institutionRole: z.string().trim().min(2).max(200),
            researchPurpose: z
              .string()
              .trim()
              .min(20, 'say in a sentence or two what you want to study')
              .max(4000),
            orcid: z.string().max(60).optional(),
          }),
          response: { ...problemResponses, 202: z.object({ next: z.string() }) },
        },
      },
      async (request, reply) => {
        await registration.register(request.ctx.principal, request.body, request.ip);
        // The same answer whether or not the address already has an account.
        return reply
          .code(202)
          .send({ next: `check ${request.body.email} for a link to confirm the address` });
      },
    );

    app.post(
      '/api/v1/auth/verify-email',
      {
        config: { permission: 'public', action: 'user.verify_email' },
        schema: {
          operationId: 'verifyEmail',
          summary: 'Confirm an address with the secret from the emailed link',
          tags: ['auth'],
          body: z.object({ token: z.string().min(1).max(200) }),
          response: {
            ...problemResponses,
            200: z.object({ email: z.string(), status: z.string() }),
          },
        },
      },
      async (request) => registration.verifyEmail(request.body.token),
    );

    app.post(
      '/api/v1/auth/verify-email/resend',
      {
        config: { permission: 'public', action: 'user.resend_verification' },
        schema: {
          operationId: 'resendVerificationEmail',
          summary: 'Email a new link to confirm an address that awaits confirmation',
          tags: ['auth'],
          body: z.object({ email: z.string().trim().min(3).max(320) }),
          response: { ...problemResponses, 202: z.object({ next: z.string() }) },
        },
      },
      async (request, reply) => {
        await registration.resendVerification(request.body.email, request.ip);
        // The same answer whether the address is unknown, confirmed already, or awaits confirmation.
        return reply.code(202).send({
          next: `if ${request.body.email} awaits confirmation, a new link is on its way; it works for 24 hours, and older links no longer work`,
        });
      },
    );

    app.post(
      '/api/v1/auth/password-reset',
      {
        config: { permission: 'public', action: 'user.request_password_reset' },
        schema: {
          operationId: 'requestPasswordReset',
          summary: 'Forgot your password: email a single-use link to set a new one',
          tags: ['auth'],
          body: z.object({ email: z.string().trim().min(3).max(320) }),
          response: { ...problemResponses, 202: z.object({ next: z.string() }) },
        },
      },
      async (request, reply) => {
        await passwordReset.requestReset(request.body.email, request.ip);
        // The same answer whether or not the address has an account.
        return reply.code(202).send({
          next: `if an account exists for ${request.body.email}, we sent it a link to set a new password; it works once, within an hour`,
        });
      },
    );
  };
}
