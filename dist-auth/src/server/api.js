/** The session of an authenticated request (the auth middleware guarantees it). */
export function sessionOf(ctx) {
    const s = ctx.state.session;
    if (!s)
        throw new Error('route reached without a session');
    return s;
}
//# sourceMappingURL=api.js.map