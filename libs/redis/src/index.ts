export { QueuesModule } from './queues.module';
export { closeRedis, REDIS, RedisModule, redisKey } from './redis.module';
