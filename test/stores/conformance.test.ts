import { MemoryStore } from '../../src';
import { storeConformance } from './conformance';

storeConformance('MemoryStore', {
  make: async () => new MemoryStore(),
  wait: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
});
