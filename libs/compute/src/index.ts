export { COMPUTE_DRIVER } from './compute-driver';
export type {
  ComputeDriver,
  InstanceInfo,
  InstanceState,
  InstanceTags,
  LaunchRequest,
} from './compute-driver';
export { describeComputeDriverContract } from './compute-driver.contract';
export type {
  ComputeDriverContractOptions,
  ComputeDriverContractSubject,
} from './compute-driver.contract';
export { createEc2Client, Ec2ComputeDriver } from './ec2/ec2.driver';
export type { Ec2ComputeDriverOptions } from './ec2/ec2.driver';
export { LocalComputeDriver } from './local/local.driver';
export type { LocalComputeDriverOptions } from './local/local.driver';
export { InMemoryComputeDriver } from './memory/in-memory.driver';
export type { InMemoryComputeDriverOptions } from './memory/in-memory.driver';
export { terminateAndWait } from './terminate-and-wait';
