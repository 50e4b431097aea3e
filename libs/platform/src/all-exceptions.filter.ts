import { type ArgumentsHost, Catch, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PinoLogger } from 'nestjs-pino';
import { resolveError } from './error-envelope';

/** The single exception filter: every error leaves as an {@link ErrorEnvelope}. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  constructor(private readonly logger: PinoLogger) {
    logger.setContext(AllExceptionsFilter.name);
  }

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const { body, unexpected } = resolveError(exception, String(request.id));
    if (unexpected !== undefined) {
      this.logger.error({ err: unexpected, errorId: body.error.errorId }, 'Unhandled error');
    }
    void reply.status(body.error.status).header('content-type', 'application/json').send(body);
  }
}
