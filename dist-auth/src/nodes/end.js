/** Reaching an end node ends the run with the goodness of the event that reached it. */
export const endNode = {
    type: 'end',
    endsRun: true,
    parseOpts(raw, check) {
        for (const k of Object.keys(raw))
            if (k !== 'good')
                check.warn(k, 'an end task takes no opts');
        return {};
    },
    execute: () => Promise.resolve({ status: 0 }),
};
//# sourceMappingURL=end.js.map