import { MemoryStore } from '../../src/store/memory.js';
import { storeContract } from './contract.js';
storeContract('memory', async () => {
    const store = new MemoryStore();
    return { store, cleanup: () => store.close() };
});
//# sourceMappingURL=memory.test.js.map