import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '@molecule/auth';
import { RuntimeCatalog } from '@molecule/runtimes';

@ApiTags('workspaces')
@Controller('v1/runtimes')
export class RuntimesController {
  constructor(private readonly catalog: RuntimeCatalog) {}

  /** The catalog is public: it names runtimes and the keys they need, never a value. */
  @Get()
  @Public()
  @ApiOperation({ summary: 'Runtimes a workspace can run, with their required keys and timeouts' })
  list() {
    return {
      runtimes: this.catalog.list().map((r) => ({
        id: r.id,
        name: r.name,
        description: r.description,
        requiredKeys: r.requiredKeys,
        image: r.image,
        amis: r.amis,
        provisionTimeoutSeconds: r.provisionTimeoutSeconds,
      })),
    };
  }
}
