/** GET /flows, GET /flows/:id, GET /flows/:id/runs/:runId, cancel, rerun. (issue 4: routes helper) */
export function registerFlows(router, deps) {
    void router;
    void deps;
}
//# sourceMappingURL=flows.js.map