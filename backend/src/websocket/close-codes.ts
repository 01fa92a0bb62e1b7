/** WebSocket close code sent to clients of a deleted endpoint (4000-4999: application codes). */
export const CLOSE_ENDPOINT_DELETED = 4404;
/** Standard "going away", sent on shutdown. */
export const CLOSE_GOING_AWAY = 1001;
