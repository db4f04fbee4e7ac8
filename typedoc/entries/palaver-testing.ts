/**
 * createTestClient: drive a bot in a test as a user would, with time under the test's control.
 * @module palaver/testing
 */
export * from '../../src/testing';
