export { LOADER_OPTIONS, protoDir, loadProto, packageDefinitionOf, storageProto, gridManagerProto, clearinghouseProto, contactPointProto, gatewayProto } from './proto.js';
export { toStatus, fromServiceError, isServiceError, grpcCodeOf, stderrInternalLogger, ERROR_CODE_KEY } from './status.js';
export type { StatusObject } from './status.js';
export { CallerSlots } from './limits.js';
export { bindServer, stopServer, setDefaultDrainMs, unary, serverStream, clientStream, writeMessage, SERVER_OPTIONS } from './server.js';
export type { StartedServer } from './server.js';
export { call, deadline, CHANNEL_OPTIONS, DEFAULT_DEADLINE_MS } from './client.js';
export { operableServer, setServing, beginDrain, inFlightCalls, serviceNameOf } from './operations.js';
export { HTTP2_STREAM_WINDOW_BYTES, HTTP2_CONNECTION_WINDOW_BYTES, HTTP2_MAX_FRAME_BYTES } from './http2-settings.js';
