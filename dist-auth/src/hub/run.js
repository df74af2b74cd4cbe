export function isFinished(status) {
    return status === 'good' || status === 'bad' || status === 'cancelled';
}
export function runSummary(r) {
    return {
        ref: r.ref,
        execHost: r.execHost,
        status: r.status,
        startTime: r.startTime,
        endTime: r.endTime,
        createdAt: r.createdAt,
        trigger: r.trigger,
        reason: r.reason,
        waiting: r.waiting,
    };
}
//# sourceMappingURL=run.js.map