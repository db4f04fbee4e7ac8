/**
 * HttpAdapter: a `node:http` handler (Express, Fastify) that runs one JSON message per POST and answers with its replies.
 * @module palaver/http
 */
export * from '../../src/adapters/http';
