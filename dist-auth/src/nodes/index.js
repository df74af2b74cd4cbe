import { dataNode } from './data.js';
import { endNode } from './end.js';
import { execNode } from './exec.js';
import { fetchNode } from './fetch.js';
import { gitCheckoutNode } from './git-checkout.js';
import { timerNode } from './timer.js';
/** Every task type floe knows; a new type is one file and one line here. */
const ALL = [execNode, fetchNode, gitCheckoutNode, dataNode, timerNode, endNode];
export function createNodeRegistry(types = ALL) {
    const byName = new Map(types.map((t) => [t.type, t]));
    return {
        get: (type) => byName.get(type),
        types: () => [...byName.keys()],
    };
}
//# sourceMappingURL=index.js.map