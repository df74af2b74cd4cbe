/** POST /push/data. (issue 4: routes helper) */
export function registerPush(router, deps) {
    void router;
    void deps;
}
//# sourceMappingURL=push.js.map