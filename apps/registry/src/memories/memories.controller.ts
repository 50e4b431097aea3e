import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, WorkspaceToken } from '@molecule/auth';
import { MemoriesService, type WorkspacePrincipal } from './memories.service';
import { ListMemoriesQuery, WriteMemoryDto } from './memory.dto';

@ApiTags('registry')
@ApiBearerAuth()
@Controller('registry/memories')
export class MemoriesController {
  constructor(private readonly memories: MemoriesService) {}

  @Post()
  @WorkspaceToken()
  @ApiOperation({
    summary: 'Write a LOCAL or TEAM memory, or propose a GLOBAL one (413 over the size limit)',
  })
  write(@CurrentPrincipal() principal: WorkspacePrincipal, @Body() dto: WriteMemoryDto) {
    return this.memories.write(principal, dto);
  }

  @Get()
  @WorkspaceToken()
  @ApiOperation({ summary: 'The memories this workspace may read, wrapped with provenance' })
  list(@CurrentPrincipal() principal: WorkspacePrincipal, @Query() query: ListMemoriesQuery) {
    return this.memories.list(principal, query);
  }

  @Delete(':id')
  @HttpCode(204)
  @WorkspaceToken()
  @ApiOperation({ summary: 'Delete an own LOCAL or TEAM memory, or withdraw a pending proposal' })
  async remove(
    @CurrentPrincipal() principal: WorkspacePrincipal,
    @Param('id', new ParseUUIDPipe()) id: string,
  ) {
    await this.memories.remove(principal, id);
  }
}
