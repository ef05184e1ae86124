import { STATUS_CODES } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { toError } from '@conveyor/core';

/** Every error response of the host: a stable slug and one line for people. */
export interface ErrorBody {
  /** `bad_request`, `unauthorized`, `not_found`, `payload_too_large`, … (the status text, snake_case). */
  error: string;
  message: string;
}

/** `413` → `payload_too_large`: the slug is derived from the status, so every route agrees. */
export function errorSlug(status: number): string {
  return (STATUS_CODES[status] ?? 'error').toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '');
}

/** Sends `{ error, message }` with `status`. */
export function sendError(reply: FastifyReply, status: number, message: string): FastifyReply {
  const body: ErrorBody = { error: errorSlug(status), message };
  return reply.code(status).type('application/json; charset=utf-8').send(body);
}

/** Core error codes that are the caller's fault, and the status they mean. */
const CONVEYOR_CODES: Readonly<Record<string, number>> = {
  CONVEYOR_TASK_NOT_FOUND: 404,
  CONVEYOR_INPUT_INVALID: 400,
  CONVEYOR_PLUGIN_DISABLED: 409,
};

/**
 * What a thrown error becomes on the wire. Client errors (fastify's own 4xx —
 * validation, 413, 415, bad JSON — and core's not-found / invalid-input) keep
 * their message; anything else is a 500 whose message says nothing about the
 * cause, because stack traces and SQL text must not leave the host.
 */
export function toHttpError(thrown: unknown, request: FastifyRequest): { status: number; message: string; clientError: boolean } {
  const err = toError(thrown) as Error & { statusCode?: number; code?: string; validation?: unknown };
  const coreStatus = err.code ? CONVEYOR_CODES[err.code] : undefined;
  if (coreStatus) return { status: coreStatus, message: err.message, clientError: true };
  const status = typeof err.statusCode === 'number' ? err.statusCode : 500;
  if (status >= 400 && status < 500) {
    // fastify's wording ("Request body is too large", "Unsupported Media Type") does not say what to send instead.
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { status, message: `request body is larger than the limit of ${request.routeOptions.bodyLimit} bytes`, clientError: true };
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return { status, message: `content-type "${String(request.headers['content-type'] ?? '')}" is not accepted: send application/json`, clientError: true };
    return { status, message: err.message, clientError: true };
  }
  return { status: 500, message: 'internal server error; see the host log', clientError: false };
}

/**
 * JSON for every failure: a validation error → 400 naming the field, fastify's
 * client errors with their status, unknown errors → 500 (logged with the stack,
 * answered without it). Unknown routes (404) are the app's: `buildServer` answers them in JSON.
 */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    const http = toHttpError(error, request);
    if (http.clientError) request.log.info({ status: http.status, reason: http.message }, 'request rejected');
    else request.log.error({ err: error }, 'request failed');
    return sendError(reply, http.status, http.message);
  });
}

interface AjvError {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/**
 * fastify's schema error message (`body/title must be string`), plus the name of
 * the offending key or the allowed value where ajv's own text leaves it out
 * (`must NOT have additional properties`, `must be equal to constant`).
 */
export function formatSchemaErrors(errors: readonly AjvError[], dataVar: string): Error {
  const parts = errors.map((e) => {
    let text = `${dataVar}${e.instancePath ?? ''} ${e.message ?? 'is invalid'}`;
    if (e.keyword === 'additionalProperties' && e.params?.additionalProperty !== undefined) text += `: '${String(e.params.additionalProperty)}'`;
    if (e.keyword === 'const' && e.params?.allowedValue !== undefined) text += ` ${JSON.stringify(e.params.allowedValue)}`;
    if (e.keyword === 'enum' && Array.isArray(e.params?.allowedValues)) text += `: ${e.params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    return text;
  });
  return new Error([...new Set(parts)].join(', '));
}
