import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsNumber, IsOptional, Max, Min, ValidateNested } from 'class-validator';

export class UsageDto {
  @ApiProperty()
  @IsInt()
  @Min(0)
  tasksTotal: number;

  @ApiPropertyOptional()
  @IsOptional()
  @IsNumber()
  @Min(0)
  cpuSeconds?: number;

  @ApiPropertyOptional({
    description:
      'What the workspace spent since its previous heartbeat, in cents (model calls, tools). ' +
      "Added to the workspace's spentCents; at its budgetCents, A2A calls get 402.",
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1_000_000_000)
  costCents?: number;

  @ApiPropertyOptional()
  @IsOptional()
  @IsInt()
  @Min(0)
  rssBytes?: number;
}

export class HeartbeatDto {
  @ApiProperty({ enum: ['ok', 'degraded'] })
  @IsIn(['ok', 'degraded'])
  status: 'ok' | 'degraded';

  @ApiProperty()
  @IsInt()
  @Min(0)
  activeTasks: number;

  @ApiProperty({ minimum: 0, maximum: 1 })
  @IsNumber()
  @Min(0)
  @Max(1)
  errorRate: number;

  @ApiPropertyOptional({ type: UsageDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => UsageDto)
  usage?: UsageDto;
}
