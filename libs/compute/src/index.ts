export { COMPUTE_DRIVER } from './compute-driver';
export type {
  ComputeDriver,
  InstanceInfo,
  InstanceState,
  InstanceTags,
  LaunchRequest,
} from './compute-driver';
