export { QueuesModule } from './queues.module';
export { REDIS, RedisModule, redisKey } from './redis.module';
