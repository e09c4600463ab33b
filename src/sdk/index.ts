export { RTM, type RTMConfig, type SubscribeOptions, type PublishOptions } from './client'
export type { MessageEvent, PresenceEvent, LinkStateEvent, TokenPrivilegeWillExpireEvent, FrameEvent, RtmEventMap } from './events'
export { ERRORS, isRtmError, type RtmErrorInfo, type ErrorName } from '../protocol/errors'
export type { Transport, Link, LinkHandlers } from '../transport/transport'
