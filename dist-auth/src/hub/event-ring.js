/** The last `size` published events, in order; O(1) per event on the hot path. */
export class EventRing {
    size;
    buf;
    next = 0;
    count = 0;
    constructor(size) {
        this.size = size;
        this.buf = new Array(Math.max(1, size));
    }
    push(e) {
        this.buf[this.next] = e;
        this.next = (this.next + 1) % this.buf.length;
        if (this.count < this.buf.length)
            this.count++;
    }
    /**
     * Events with seq > `seq`, oldest first; undefined when the oldest of them has already
     * been dropped (the caller must reload state instead of replaying).
     */
    since(seq, lastSeq) {
        if (seq >= lastSeq)
            return [];
        const wanted = lastSeq - seq;
        if (wanted > this.count)
            return undefined;
        const out = [];
        for (let i = wanted; i > 0; i--) {
            const e = this.buf[(this.next - i + this.buf.length) % this.buf.length];
            if (e)
                out.push(e);
        }
        return out;
    }
}
//# sourceMappingURL=event-ring.js.map