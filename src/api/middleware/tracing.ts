import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type Koa from 'koa';
import { tracer } from '../../tracing';

/**
 * The API request's span, the root of a podcast's trace (README: operations → tracing): the run
 * it starts, its activities and their provider calls hang below it. A caller's `traceparent`
 * makes it a child of the caller's own trace. Mounted only when tracing is on.
 */
export function requestSpan(): Koa.Middleware {
  return async (ctx, next) => {
    const parent = propagation.extract(context.active(), ctx.headers);
    const span = tracer().startSpan(ctx.method, { kind: SpanKind.SERVER, attributes: { 'http.request.method': ctx.method } }, parent);
    try {
      await context.with(trace.setSpan(parent, span), next);
    } finally {
      // Named by route template, not path: ids would make every request a span name of its own.
      const route = (ctx as unknown as { _matchedRoute?: string })._matchedRoute;
      if (route) span.updateName(`${ctx.method} ${route}`).setAttribute('http.route', route);
      span.setAttributes({ 'http.response.status_code': ctx.status, 'aimake.request_id': ctx.state.requestId ?? '' });
      if (ctx.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
  };
}
