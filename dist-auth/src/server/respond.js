export function respond(ctx, message, payload, status = 200) {
    ctx.status = status;
    ctx.body = { message, payload };
}
/** The one place a FloeError code becomes an HTTP status. */
export const STATUS_OF = {
    'bad-request': 400,
    'config-invalid': 400,
    unauthorized: 401,
    forbidden: 403,
    'not-found': 404,
    conflict: 409,
    'too-large': 413,
    internal: 500,
    'shutting-down': 503,
};
//# sourceMappingURL=respond.js.map