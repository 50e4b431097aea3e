import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayNotEmpty,
  ArrayUnique,
  IsArray,
  IsDate,
  IsIn,
  IsOptional,
  IsString,
  Length,
  MinDate,
} from 'class-validator';
import { OrgRole, PartnerScope, enumValues } from '@molecule/database';

export class CreatePartnerKeyDto {
  @ApiProperty({ example: 'acme-integration' })
  @IsString()
  @Length(1, 100)
  name: string;

  @ApiProperty({ enum: enumValues(PartnerScope), isArray: true })
  @IsArray()
  @ArrayNotEmpty()
  @ArrayUnique()
  @IsIn(enumValues(PartnerScope), { each: true })
  scopes: PartnerScope[];

  @ApiPropertyOptional({ type: String, format: 'date-time' })
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  @MinDate(() => new Date(), { message: 'expiresAt must be in the future' })
  expiresAt?: Date;
}

export class CreateOrgKeyDto {
  @ApiProperty({ example: 'ci-deployer' })
  @IsString()
  @Length(1, 100)
  name: string;

  @ApiProperty({ enum: enumValues(OrgRole) })
  @IsIn(enumValues(OrgRole))
  role: OrgRole;

  @ApiPropertyOptional({ type: String, format: 'date-time' })
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  @MinDate(() => new Date(), { message: 'expiresAt must be in the future' })
  expiresAt?: Date;
}
