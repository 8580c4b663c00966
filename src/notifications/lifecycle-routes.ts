import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { eventRoutes } from '../events/event-routes.ts';
import { webhookRoutes } from '../webhooks/webhook-routes.ts';
import { messageRoutes } from './message-routes.ts';

/** Events, webhooks, lifecycle settings, templates and messages: the authenticated /v1 routes. */
export const lifecycleRoutes: FastifyPluginAsyncTypebox = async (app) => {
  await app.register(eventRoutes);
  await app.register(webhookRoutes);
  await app.register(messageRoutes);
};
