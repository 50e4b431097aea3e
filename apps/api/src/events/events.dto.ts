import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';

export class EventsQuery {
  @ApiPropertyOptional({
    description:
      'Resume after this event id, for clients that cannot send the Last-Event-ID header ' +
      '(the header wins when both are present)',
    example: '1700000000000-0',
  })
  @IsOptional()
  @IsString()
  @MaxLength(45)
  lastEventId?: string;
}
