import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  sessionHashOf,
  type SecondFactorService,
} from '../../services/identity/second-factor.service.js';
import { problemResponses } from '../plugins/problems.js';
import { requireSession, requireUser } from '../plugins/request-lifecycle.js';

const code = z.string().trim().min(6).max(20);
const recoveryCodes = z.object({
  recoveryCodes: z.array(z.string()).meta({ description: 'Shown this once; store them safely' }),
});

/**
 * Two-factor sign-in (TOTP): status, enrolment with a code from the app, recovery codes, turning
 * it off. Changes need a browser session, never an API token: a stolen token must not be able to
 * put its own authenticator on someone's account.
 */
export function secondFactorRoutes(secondFactor: SecondFactorService): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/api/v1/auth/second-factor',
      {
        config: { permission: 'account', action: 'auth.second_factor.status' },
        schema: {
          operationId: 'getSecondFactor',
          summary:
            'Whether two-factor sign-in is on, required, and how many recovery codes are left',
          tags: ['auth'],
          response: {
            ...problemResponses,
            200: z
              .object({
                enabled: z.boolean(),
                required: z.boolean(),
                recoveryCodesLeft: z.number().int(),
              })
              .meta({ id: 'SecondFactorStatus' }),
          },
        },
      },
      async (request) => secondFactor.status(requireUser(request)),
    );

    app.post(
      '/api/v1/auth/second-factor/enrolment',
      {
        config: { permission: 'account', action: 'auth.second_factor.begin' },
        schema: {
          operationId: 'beginSecondFactorEnrolment',
          summary: 'Start two-factor sign-in: a new secret for your authenticator app',
          tags: ['auth'],
          response: {
            ...problemResponses,
            200: z.object({
              secret: z.string().meta({ description: 'base32, to type into the app' }),
              uri: z.string().meta({ description: 'otpauth:// URI, to show as a QR code' }),
            }),
          },
        },
      },
      async (request) => secondFactor.beginEnrolment(requireSession(request).userId),
    );

    app.post(
      '/api/v1/auth/second-factor/enrolment/confirm',
      {
        config: { permission: 'account', action: 'auth.second_factor.enable' },
        schema: {
          operationId: 'confirmSecondFactorEnrolment',
          summary: 'Turn two-factor sign-in on with a code from the app; returns recovery codes',
          tags: ['auth'],
          body: z.object({ code }),
          response: { ...problemResponses, 200: recoveryCodes },
        },
      },
      async (request) => {
        const { userId, secret } = requireSession(request);
        return secondFactor.confirmEnrolment(userId, sessionHashOf(secret), request.body.code);
      },
    );

    app.post(
      '/api/v1/auth/second-factor/recovery-codes',
      {
        config: { permission: 'account', action: 'auth.second_factor.recovery_codes' },
        schema: {
          operationId: 'regenerateRecoveryCodes',
          summary: 'New recovery codes (the old ones stop working), after a code from the app',
          tags: ['auth'],
          body: z.object({ code }),
          response: { ...problemResponses, 200: recoveryCodes },
        },
      },
      async (request) =>
        secondFactor.regenerateRecoveryCodes(requireSession(request).userId, request.body.code),
    );

    app.post(
      '/api/v1/auth/second-factor/disable',
      {
        config: { permission: 'account', action: 'auth.second_factor.disable' },
        schema: {
          operationId: 'disableSecondFactor',
          summary: 'Turn two-factor sign-in off (refused when your roles require it)',
          tags: ['auth'],
          body: z.object({ code }),
          response: { ...problemResponses, 204: z.null() },
        },
      },
      async (request, reply) => {
        await secondFactor.disable(requireSession(request).userId, request.body.code);
        return reply.code(204).send(null);
      },
    );
  };
}
