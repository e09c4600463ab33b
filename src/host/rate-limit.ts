// Moved: the engine uses it too (pure, time as an argument).
export { TokenBucket } from '../engine/rate-limit'
